"""Request and response shapes of staff sign-in, people, API keys and the audit trail
(server/web/staff_api.py); the same bounded, NUL-free strings as server/web/schemas.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from hr_bridge.profiles import NO_NUL
from server.web.schemas import Name, Schema, Short

Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Code = Annotated[str, StringConstraints(pattern=r"^\d{6,8}$")]
Token = Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[\w-]+$")]
Login = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=NO_NUL)]
ASCII = r"^[\x21-\x7e]*$"
# "/", or "/" then a character other than "/" (that would name another host), then printable
# ASCII; no backslash anywhere (browsers read it as "/").
LOCAL_PATH = r"^/([\x21-\x2e\x30-\x5b\x5d-\x7e][\x21-\x5b\x5d-\x7e]*)?$"
GrantLabel = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)]


class SignInIn(Schema):
    email: Login
    password: Password
    code: Code | None = None


class MeOut(Schema):
    kind: Literal["user", "api_key", "operator"]
    id: str
    name: str
    email: str | None
    roles: list[str]
    actions: list[str]
    csrf: str | None  # send as X-CSRF-Token on writes made with the session cookie
    totp_enabled: bool
    sso: bool


class SignInNext(Schema):
    """A password set for an account with two-factor on: sign in with the code next."""

    sign_in: Literal[True]


class SetupCheckIn(Schema):
    token: Token


class SetupCheckOut(Schema):
    purpose: Literal["first_admin", "reset"]
    email: str | None


class SetupIn(Schema):
    token: Token
    password: Password
    email: Login | None = None  # first admin only
    name: Short | None = None  # first admin only


class TotpBeginOut(Schema):
    secret: str
    uri: str


class TotpCodeIn(Schema):
    code: Code


class TotpIn(Schema):
    secret: Annotated[str, StringConstraints(pattern=r"^[A-Z2-7]{16,64}$")]
    code: Code


class UserPath(Schema):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[a-f0-9]+$")


class UserOut(Schema):
    id: str
    email: str
    name: str
    roles: list[str]
    disabled: bool
    totp_enabled: bool
    sso: bool
    has_password: bool
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    created_at: datetime


class UserIn(Schema):
    email: Login
    name: Short
    roles: list[GrantLabel] = Field(min_length=1, max_length=50)


class UserCreated(Schema):
    user: UserOut
    setup_url: str  # one-time link for the person to choose a password (24 h)


class UserPatch(Schema):
    name: Short | None = None
    roles: list[GrantLabel] | None = Field(None, min_length=1, max_length=50)
    disabled: bool | None = None


class ResetIn(Schema):
    totp: bool = False  # also remove the person's second factor


class SetupLinkOut(Schema):
    setup_url: str


class RolesOut(Schema):
    roles: list[str]
    actions: dict[str, str]
    grants: dict[str, list[str]]
    scoped: dict[str, list[str]]
    key_scopes: list[str]


class KeyPath(Schema):
    id: str = Field(min_length=1, max_length=16, pattern=r"^[a-f0-9]+$")


class KeyIn(Schema):
    name: Name
    scopes: list[str] = Field(min_length=1, max_length=20)


class KeyOut(Schema):
    id: str
    name: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str  # shown this once; only its hash is stored


class AuditQuery(Schema):
    subject: Short | None = None
    after: int = Field(0, ge=0, le=2**31 - 1)
    limit: int = Field(100, ge=1, le=500)


class AuditOut(Schema):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class SsoOut(Schema):
    enabled: bool


class SsoLoginQuery(Schema):
    # A path on this site: printable ASCII without backslashes, not "//" (another host).
    next: Annotated[str, StringConstraints(max_length=500, pattern=LOCAL_PATH)] = "/hr"


class SsoCallbackQuery(Schema):
    """What the provider sends back (code and state, or an error): printable ASCII, bounded
    so that even fully escaped the URL stays within the server's request-line limit."""

    state: Annotated[str, StringConstraints(max_length=200, pattern=ASCII)] = ""
    code: Annotated[str, StringConstraints(max_length=1000, pattern=ASCII)] | None = None
    error: Annotated[str, StringConstraints(max_length=100, pattern=ASCII)] | None = None


class LiveLinkOut(Schema):
    url: str
