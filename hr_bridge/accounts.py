"""Staff accounts: people, their roles, password and TOTP sign-in with lockout, sessions,
integration API keys and one-time setup links. Blocking: call from a worker thread.

Secrets are never stored: sessions, API keys and setup links keep a SHA-256 of their token,
passwords an argon2 hash. Every change is audited in the transaction that makes it, with facts
only (never a password, token, secret or TOTP code). Functions return frozen views, never
table rows.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from sqlalchemy import JSON, Column, Engine, UniqueConstraint, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from hr_bridge import audit
from hr_bridge.interviews import Interview, Requisition
from hr_bridge.models import UTCDateTime, lock_row, utcnow
from hr_bridge.passwords import (
    DUMMY_HASH,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from hr_bridge.roles import KEY_SCOPES, SCOPED, Action, Role, Scope

FIRST_ADMIN, RESET = "first_admin", "reset"
PURPOSES = frozenset({FIRST_ADMIN, RESET})
TOTP_ISSUER = "hirestream"
SETUP_LINK_TTL_S = 24 * 3600.0  # how long a one-time setup link stays usable
KEY_PREFIX = "hsk_"
# Writes that only record activity (a session's last_seen_at, a key's last_used_at) happen at
# most this often per row, so every request does not write.
TOUCH_EVERY = timedelta(seconds=60)
_KEY_TEXT = re.compile(r"hsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Any fixed number: the PostgreSQL advisory lock that serialises changes to who is hr_admin.
_ADMIN_LOCK_KEY = 0x68735F61646D


def _id() -> str:
    return uuid.uuid4().hex


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def setup_path(token: str) -> str:
    """The page that uses a setup link. The token rides in the fragment, which browsers never
    send, so it stays out of server logs and Referer headers."""
    return f"/account/setup#{token}"


# --- tables ---------------------------------------------------------------------------------


class Account(SQLModel, table=True):
    """A person who signs in to the HR side (staff), by password (+ TOTP) or by SSO."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("email", name="uq_account_email"),
        UniqueConstraint("oidc_subject", name="uq_account_oidc_subject"),
    )

    id: str = Field(default_factory=_id, primary_key=True, max_length=32)
    email: str = Field(max_length=254)  # lower-cased and stripped
    name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=200)
    totp_secret: str | None = Field(default=None, max_length=64)
    # The last TOTP time step (pyotp timecode) a code was accepted for: a code counts once.
    totp_last_step: int | None = None
    disabled: bool = False
    oidc_subject: str | None = Field(default=None, max_length=300)  # "<issuer>|<sub>"
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_sign_in_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class AccountRole(SQLModel, table=True):
    """One role an account holds, for the whole organisation or for one requisition or
    interview (hr_bridge.roles.SCOPED)."""

    __tablename__ = "account_role"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "role", "requisition_id", "interview_id", name="uq_account_role_grant"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=32)
    role: str = Field(max_length=32)
    requisition_id: str | None = Field(default=None, foreign_key="requisition.id", max_length=32)
    interview_id: str | None = Field(default=None, foreign_key="interview.id", max_length=32)


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The id is the SHA-256 of the cookie's token, never the token."""

    __tablename__ = "staff_session"

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=32)
    csrf: str = Field(max_length=64)
    via: str = Field(max_length=16)  # how it started: "password", "sso" or "setup"
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ApiKey(SQLModel, table=True):
    """An integration key: actions (scopes), never roles. The key text is shown once."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=16)  # public: the key text names it
    name: str = Field(max_length=100)
    # SHA-256 of the secret part. The secret is 256 random bits, so nothing can be guessed
    # from the hash and a slow password hash would only slow every API request down.
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SetupLink(SQLModel, table=True):
    """A one-time link: create the first HR admin, or set an account's password. The id is
    the SHA-256 of the link's token."""

    __tablename__ = "setup_link"

    id: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=16)  # FIRST_ADMIN or RESET
    account_id: str | None = Field(default=None, foreign_key="account.id", max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# --- views and errors -----------------------------------------------------------------------


class AccountError(ValueError):
    """Bad input; the message starts with the field ("email: ...")."""


class AccountConflict(Exception):
    """The change conflicts with the store (email taken, an admin exists already, it would
    leave no enabled hr_admin...)."""


class LinkError(Exception):
    """A setup or reset link is unknown, used, expired or for another purpose."""


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    requisition_id: str | None = None
    interview_id: str | None = None

    @property
    def scope(self) -> Scope | None:
        if self.requisition_id is not None:
            return Scope.REQUISITION
        if self.interview_id is not None:
            return Scope.INTERVIEW
        return None

    def label(self) -> str:
        """ "hr_admin", "hiring_manager:requisition=<id>", "interviewer:interview=<id>"."""
        if self.requisition_id is not None:
            return f"{self.role.value}:{Scope.REQUISITION.value}={self.requisition_id}"
        if self.interview_id is not None:
            return f"{self.role.value}:{Scope.INTERVIEW.value}={self.interview_id}"
        return self.role.value

    @classmethod
    def parse(cls, text: str) -> RoleGrant:
        """The inverse of label(); AccountError (a ValueError) saying what is wrong."""
        head, sep, tail = text.strip().partition(":")
        try:
            role = Role(head)
        except ValueError:
            raise AccountError(
                f"role: {head!r} is not a role; one of {', '.join(r.value for r in Role)}"
            ) from None
        if not sep:
            grant = cls(role)
        else:
            kind, eq, ident = tail.partition("=")
            if not eq or not ident or kind not in {s.value for s in Scope}:
                raise AccountError(f"role: {text!r}: a scope is requisition=<id> or interview=<id>")
            grant = cls(role, **{f"{kind}_id": ident})
        _check_shape(grant)
        return grant


def _check_shape(grant: RoleGrant) -> None:
    """The checks that need no database: scoped roles name one allowed scope, others none."""
    allowed = SCOPED.get(grant.role)
    if grant.requisition_id is not None and grant.interview_id is not None:
        raise AccountError(
            f"role: {grant.role.value} names a requisition or an interview, not both"
        )
    if allowed is None:
        if grant.scope is not None:
            raise AccountError(f"role: {grant.role.value} holds for everything; it takes no id")
        return
    if grant.scope is None:
        kinds = " or ".join(sorted(s.value for s in allowed))
        raise AccountError(f"role: {grant.role.value} needs a {kinds} id")
    if grant.scope not in allowed:
        raise AccountError(f"role: {grant.role.value} cannot be scoped to a {grant.scope.value}")


@dataclass(frozen=True)
class AccountView:
    id: str
    email: str
    name: str
    roles: tuple[RoleGrant, ...]
    disabled: bool
    totp_enabled: bool
    sso: bool
    has_password: bool
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SessionView:
    id: str  # SHA-256 hex of the token
    account_id: str
    csrf: str
    via: str
    created_at: datetime
    expires_at: datetime

    @property
    def ref(self) -> str:
        """How the audit trail names the session (a prefix of the hash, not the token)."""
        return "session:" + self.id[:8]


@dataclass(frozen=True)
class ApiKeyView:
    id: str
    name: str
    scopes: tuple[Action, ...]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class SignInOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    TOTP_REQUIRED = "totp_required"
    BAD_TOTP = "bad_totp"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    account: AccountView | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_s: float = 900.0


# --- helpers --------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """Lower-cased and stripped; AccountError unless it looks like an address."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise AccountError("email: not an email address")
    return value


def _clean_name(name: str) -> str:
    value = " ".join(name.split())
    if not value or len(value) > 200:
        raise AccountError("name: 1 to 200 characters")
    return value


def _policy(password: str) -> str:
    """The password's argon2 hash, once it passes the policy (AccountError otherwise)."""
    try:
        check_policy(password)
    except ValueError as err:
        raise AccountError(str(err)) from None
    return hash_password(password)


def _subject(account_id: str) -> str:
    return f"account:{account_id}"


def _grants(session: Session, account_id: str) -> tuple[RoleGrant, ...]:
    stmt = (
        select(AccountRole)
        .where(AccountRole.account_id == account_id)
        .order_by(col(AccountRole.id))
    )
    return tuple(
        RoleGrant(Role(r.role), r.requisition_id, r.interview_id) for r in session.exec(stmt)
    )


def _view(session: Session, acc: Account) -> AccountView:
    return AccountView(
        id=acc.id,
        email=acc.email,
        name=acc.name,
        roles=_grants(session, acc.id),
        disabled=acc.disabled,
        totp_enabled=acc.totp_secret is not None,
        sso=acc.oidc_subject is not None,
        has_password=acc.password_hash is not None,
        locked_until=acc.locked_until,
        last_sign_in_at=acc.last_sign_in_at,
        created_at=acc.created_at,
    )


def _session_view(row: StaffSession) -> SessionView:
    return SessionView(row.id, row.account_id, row.csrf, row.via, row.created_at, row.expires_at)


def _key_view(row: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=row.id,
        name=row.name,
        scopes=tuple(Action(s) for s in row.scopes),
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _account(session: Session, account_id: str) -> Account:
    acc = session.get(Account, account_id)
    if acc is None:
        raise KeyError(account_id)
    return acc


def _by_email(session: Session, email: str) -> Account | None:
    return session.exec(select(Account).where(Account.email == email)).first()


def _valid_grants(session: Session, roles: Sequence[RoleGrant]) -> list[RoleGrant]:
    """`roles` without repeats, each checked (scoped ones against the store)."""
    out: list[RoleGrant] = []
    for grant in roles:
        _check_shape(grant)
        if (
            grant.requisition_id is not None
            and session.get(Requisition, grant.requisition_id) is None
        ):
            raise AccountError(f"role: no requisition {grant.requisition_id!r}")
        if grant.interview_id is not None and session.get(Interview, grant.interview_id) is None:
            raise AccountError(f"role: no interview {grant.interview_id!r}")
        if grant not in out:
            out.append(grant)
    return out


def _lock_admins(session: Session) -> None:
    """Serialise, for the rest of the transaction, every change that could leave no enabled
    hr_admin (or make a second first admin): two admins disabling each other at once must not
    both succeed. PostgreSQL: a transaction-scoped advisory lock. SQLite: any write statement
    takes the database's write lock, so a write matching no row is enough."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADMIN_LOCK_KEY})
    else:
        session.execute(update(Account).where(text("1 = 0")).values(name=Account.name))


def _enabled_admins(session: Session) -> set[str]:
    stmt = (
        select(Account.id)
        .join(AccountRole, col(AccountRole.account_id) == col(Account.id))
        .where(AccountRole.role == Role.HR_ADMIN.value, col(Account.disabled).is_(False))
    )
    return set(session.exec(stmt))


def _replace_roles(session: Session, acc: Account, grants: list[RoleGrant], actor: str) -> None:
    """Swap the account's roles for `grants` (checked), refusing to remove the last enabled
    hr_admin. The caller holds _lock_admins()."""
    before = _grants(session, acc.id)
    keeps_admin = RoleGrant(Role.HR_ADMIN) in grants
    if not keeps_admin and not acc.disabled and _enabled_admins(session) == {acc.id}:
        raise AccountConflict(
            "roles: the last enabled hr_admin keeps the role; make another account hr_admin first"
        )
    for row in session.exec(select(AccountRole).where(AccountRole.account_id == acc.id)):
        session.delete(row)
    session.flush()
    for g in grants:
        session.add(
            AccountRole(
                account_id=acc.id,
                role=g.role.value,
                requisition_id=g.requisition_id,
                interview_id=g.interview_id,
            )
        )
    acc.updated_at = utcnow()
    session.add(acc)
    audit.add(
        session,
        actor,
        "account.roles_set",
        _subject(acc.id),
        before=[g.label() for g in before],
        after=[g.label() for g in grants],
    )


def _end_sessions(session: Session, account_id: str, now: datetime) -> int:
    result = session.execute(
        update(StaffSession)
        .where(col(StaffSession.account_id) == account_id, col(StaffSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _end_links(session: Session, account_id: str | None, now: datetime) -> int:
    """Mark unused setup links used so an earlier (perhaps leaked) one dies: the account's,
    or with None every first-admin link. How many were marked (expired ones included)."""
    which = (
        col(SetupLink.purpose) == FIRST_ADMIN
        if account_id is None
        else col(SetupLink.account_id) == account_id
    )
    result = session.execute(
        update(SetupLink).where(which, col(SetupLink.used_at).is_(None)).values(used_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _insert_account(
    session: Session,
    email: str,
    name: str,
    grants: list[RoleGrant],
    actor: str,
    password_hash: str | None = None,
    oidc_subject: str | None = None,
) -> Account:
    if _by_email(session, email) is not None:
        raise AccountConflict(f"email: an account with {email} exists already")
    acc = Account(email=email, name=name, password_hash=password_hash, oidc_subject=oidc_subject)
    session.add(acc)
    for g in grants:
        session.add(
            AccountRole(
                account_id=acc.id,
                role=g.role.value,
                requisition_id=g.requisition_id,
                interview_id=g.interview_id,
            )
        )
    audit.add(
        session,
        actor,
        "account.created",
        _subject(acc.id),
        roles=[g.label() for g in grants],
        sso=oidc_subject is not None,
    )
    return acc


def _commit(session: Session, conflict: str) -> None:
    """Commit; a unique constraint that a concurrent writer won becomes AccountConflict."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountConflict(conflict) from None


# --- accounts -------------------------------------------------------------------------------


def create_account(
    engine: Engine,
    email: str,
    name: str,
    roles: Sequence[RoleGrant],
    actor: str,
    password: str | None = None,
) -> AccountView:
    """A new account with `roles`; without `password` it signs in by SSO or after a reset
    link. AccountError for bad input, AccountConflict when the email is taken."""
    address, clean = normalise_email(email), _clean_name(name)
    hashed = None if password is None else _policy(password)
    with Session(engine) as s:
        acc = _insert_account(s, address, clean, _valid_grants(s, roles), actor, hashed)
        _commit(s, f"email: an account with {address} exists already")
        s.refresh(acc)
        return _view(s, acc)


def get_account(engine: Engine, account_id: str) -> AccountView | None:
    with Session(engine) as s:
        acc = s.get(Account, account_id)
        return None if acc is None else _view(s, acc)


def find_account(engine: Engine, email: str) -> AccountView | None:
    with Session(engine) as s:
        acc = _by_email(s, email.strip().lower())
        return None if acc is None else _view(s, acc)


def list_accounts(engine: Engine) -> list[AccountView]:
    with Session(engine) as s:
        return [_view(s, a) for a in s.exec(select(Account).order_by(col(Account.email)))]


def set_roles(
    engine: Engine, account_id: str, roles: Sequence[RoleGrant], actor: str
) -> AccountView:
    """Replace the account's roles. KeyError for an unknown account; AccountConflict when it
    would leave no enabled hr_admin."""
    with Session(engine) as s:
        _lock_admins(s)
        acc = _account(s, account_id)
        _replace_roles(s, acc, _valid_grants(s, roles), actor)
        s.commit()
        s.refresh(acc)
        return _view(s, acc)


def set_disabled(engine: Engine, account_id: str, disabled: bool, actor: str) -> AccountView:
    """Disable (ending every session and unused setup link) or enable an account.
    AccountConflict for disabling the last enabled hr_admin."""
    with Session(engine) as s:
        _lock_admins(s)
        acc = _account(s, account_id)
        if disabled and not acc.disabled and _enabled_admins(s) == {acc.id}:
            raise AccountConflict(
                "disabled: the last enabled hr_admin cannot be disabled; "
                "make another account hr_admin first"
            )
        # A disabled account's unused links die too (even when it was disabled already).
        links = _end_links(s, acc.id, utcnow()) if disabled else 0
        if acc.disabled != disabled:
            acc.disabled, acc.updated_at = disabled, utcnow()
            s.add(acc)
            ended = _end_sessions(s, acc.id, utcnow()) if disabled else 0
            action = "account.disabled" if disabled else "account.enabled"
            audit.add(s, actor, action, _subject(acc.id), sessions_ended=ended, links_ended=links)
        s.commit()
        s.refresh(acc)
        return _view(s, acc)


def set_password(engine: Engine, account_id: str, password: str, actor: str) -> None:
    """Set the password (policy checked), end every session and unused setup link and clear
    any lockout."""
    hashed = _policy(password)
    with Session(engine) as s:
        acc = _account(s, account_id)
        _store_password(s, acc, hashed, actor, utcnow())
        s.commit()


def _store_password(session: Session, acc: Account, hashed: str, actor: str, now: datetime) -> None:
    acc.password_hash, acc.failed_logins, acc.locked_until = hashed, 0, None
    acc.updated_at = now
    session.add(acc)
    ended = _end_sessions(session, acc.id, now)
    links = _end_links(session, acc.id, now)
    audit.add(
        session,
        actor,
        "account.password_set",
        _subject(acc.id),
        sessions_ended=ended,
        links_ended=links,
    )


def rename(engine: Engine, account_id: str, name: str, actor: str) -> AccountView:
    clean = _clean_name(name)
    with Session(engine) as s:
        acc = _account(s, account_id)
        acc.name, acc.updated_at = clean, utcnow()
        s.add(acc)
        audit.add(s, actor, "account.renamed", _subject(acc.id))
        s.commit()
        s.refresh(acc)
        return _view(s, acc)


def clear_lockout(engine: Engine, account_id: str, actor: str) -> AccountView:
    """Forget failed sign-ins and any lock (an operator's reset)."""
    with Session(engine) as s:
        acc = _account(s, account_id)
        acc.failed_logins, acc.locked_until, acc.updated_at = 0, None, utcnow()
        s.add(acc)
        audit.add(s, actor, "account.lockout_cleared", _subject(acc.id))
        s.commit()
        s.refresh(acc)
        return _view(s, acc)


# --- sign-in --------------------------------------------------------------------------------


def sign_in(
    engine: Engine,
    email: str,
    password: str,
    totp_code: str | None = None,
    policy: LockoutPolicy = LockoutPolicy(),  # frozen: one shared default is safe
    now: datetime | None = None,
) -> SignInResult:
    """Check a password (and TOTP code when the account has one). Unknown emails, accounts
    without a password and wrong passwords all answer BAD_CREDENTIALS, after the same argon2
    work; a disabled account says so only after the right password. Wrong passwords and
    codes count towards a lock of `policy.lock_s`; a locked account is not checked at all."""
    at = now or utcnow()
    try:
        address = normalise_email(email)
    except AccountError:
        address = None
    with Session(engine) as s:
        acc = None if address is None else _by_email(s, address)
        if acc is None:
            verify_password(DUMMY_HASH, password)
            audit.add(
                s, "anonymous", "account.sign_in_failed", "account:unknown", reason="unknown_email"
            )
            s.commit()
            return SignInResult(SignInOutcome.BAD_CREDENTIALS)
        # Serialises attempts on one account so no failure is lost to a concurrent one.
        lock_row(s, Account, acc.id, "name")
        s.refresh(acc)
        subject = _subject(acc.id)
        if acc.locked_until is not None and acc.locked_until > at:
            audit.add(s, "anonymous", "account.sign_in_failed", subject, reason="locked")
            s.commit()
            return SignInResult(SignInOutcome.LOCKED, locked_until=acc.locked_until)
        if acc.password_hash is None:  # SSO-only or not set up yet: no password can match
            verify_password(DUMMY_HASH, password)
            audit.add(s, "anonymous", "account.sign_in_failed", subject, reason="no_password")
            s.commit()
            return SignInResult(SignInOutcome.BAD_CREDENTIALS)
        if not verify_password(acc.password_hash, password):
            return _failure(s, acc, SignInOutcome.BAD_CREDENTIALS, "bad_password", policy, at)
        if acc.disabled:
            audit.add(s, "anonymous", "account.sign_in_failed", subject, reason="disabled")
            s.commit()
            return SignInResult(SignInOutcome.DISABLED)
        if acc.totp_secret is not None:
            if not totp_code:
                s.commit()  # no failure: the password was right, the code comes next
                return SignInResult(SignInOutcome.TOTP_REQUIRED)
            # Under the row lock above: of two sign-ins with one code, only the first counts.
            step = _totp_step(acc.totp_secret, totp_code, at, after=acc.totp_last_step)
            if step is None:
                return _failure(s, acc, SignInOutcome.BAD_TOTP, "bad_totp", policy, at)
            acc.totp_last_step = step
        if needs_rehash(acc.password_hash):
            acc.password_hash = hash_password(password)
        acc.failed_logins, acc.locked_until, acc.last_sign_in_at = 0, None, at
        s.add(acc)
        audit.add(
            s,
            _subject(acc.id),
            "account.sign_in",
            subject,
            via="password",
            totp=acc.totp_secret is not None,
        )
        s.commit()
        s.refresh(acc)
        return SignInResult(SignInOutcome.OK, account=_view(s, acc))


def _failure(
    session: Session,
    acc: Account,
    outcome: SignInOutcome,
    reason: str,
    policy: LockoutPolicy,
    now: datetime,
) -> SignInResult:
    """Count a failed attempt; the one that reaches the limit locks the account (LOCKED)."""
    subject = _subject(acc.id)
    acc.failed_logins += 1
    audit.add(
        session,
        "anonymous",
        "account.sign_in_failed",
        subject,
        reason=reason,
        failures=acc.failed_logins,
    )
    result = SignInResult(outcome)
    if acc.failed_logins >= policy.max_failures:
        acc.failed_logins = 0
        acc.locked_until = now + timedelta(seconds=policy.lock_s)
        audit.add(session, "system", "account.locked", subject, until=acc.locked_until.isoformat())
        result = SignInResult(SignInOutcome.LOCKED, locked_until=acc.locked_until)
    session.add(acc)
    session.commit()
    return result


# --- TOTP -----------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app scans (as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def _totp_step(secret: str, code: str, at: datetime, after: int | None = None) -> int | None:
    """The time step (pyotp timecode) `code` is right for, among the one at `at` and one
    either side, and later than `after` (the last step accepted: a code counts once); None
    when there is none or the input is malformed."""
    digits = "".join(code.split())
    if not (digits.isdigit() and len(digits) == 6):
        return None
    try:
        totp = pyotp.TOTP(secret)
        now_step = totp.timecode(at)
        for step in (now_step - 1, now_step, now_step + 1):  # the earliest: spend the least
            if (after is None or step > after) and hmac.compare_digest(
                totp.generate_otp(step), digits
            ):
                return step
    except (binascii.Error, ValueError):
        pass
    return None


def enable_totp(
    engine: Engine,
    account_id: str,
    secret: str,
    code: str,
    actor: str,
    now: datetime | None = None,
) -> bool:
    """Store `secret` as the account's second factor only if `code` proves the person's app
    has it (one 30 s step either side allowed); False otherwise, nothing changed. The code's
    step is remembered, so it cannot sign in afterwards; re-enabling the current secret needs
    a code not used yet."""
    at = now or utcnow()
    with Session(engine) as s:
        acc = _account(s, account_id)
        lock_row(s, Account, acc.id, "name")
        s.refresh(acc)
        after = acc.totp_last_step if acc.totp_secret == secret else None
        step = _totp_step(secret, code, at, after=after)
        if step is None:
            return False
        acc.totp_secret, acc.totp_last_step, acc.updated_at = secret, step, at
        s.add(acc)
        audit.add(s, actor, "account.totp_enabled", _subject(acc.id))
        s.commit()
    return True


def disable_totp(
    engine: Engine,
    account_id: str,
    actor: str,
    code: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Remove the account's second factor. With `code` (the person themselves) only when the
    code is a current, unused one: a session alone must not be enough to strip it. Without
    (an HR admin's reset: a lost phone) unconditionally. False when the code is wrong."""
    at = now or utcnow()
    with Session(engine) as s:
        acc = _account(s, account_id)
        lock_row(s, Account, acc.id, "name")
        s.refresh(acc)
        if acc.totp_secret is None:
            return True
        if code is not None and _totp_step(acc.totp_secret, code, at, acc.totp_last_step) is None:
            return False
        acc.totp_secret, acc.totp_last_step, acc.updated_at = None, None, at
        s.add(acc)
        audit.add(s, actor, "account.totp_disabled", _subject(acc.id))
        s.commit()
    return True


# --- single sign-on -------------------------------------------------------------------------


def account_for_oidc(
    engine: Engine,
    subject: str,
    email: str,
    name: str,
    roles: Sequence[RoleGrant] | None,
    create: bool,
    actor: str,
) -> AccountView | None:
    """The account an OpenID Connect sign-in maps to: by `subject` ("<issuer>|<sub>"), else by
    email (linking the subject to it), else a new one without a password when `create`
    (None otherwise). `roles` (not None) replace the account's roles. A disabled account is
    returned as it is: the caller refuses it. AccountConflict when the email's account is
    linked to another subject, or the roles would leave no enabled hr_admin."""
    if not subject or len(subject) > 300:
        raise AccountError("subject: 1 to 300 characters")
    address = normalise_email(email)
    with Session(engine) as s:
        if roles is not None:
            _lock_admins(s)
        grants = None if roles is None else _valid_grants(s, roles)
        acc = s.exec(select(Account).where(Account.oidc_subject == subject)).first()
        if acc is None:
            acc = _by_email(s, address)
            if acc is not None:
                if acc.oidc_subject is not None:
                    raise AccountConflict(
                        "email: the account with this email is linked to another sign-in"
                    )
                acc.oidc_subject, acc.updated_at = subject, utcnow()
                s.add(acc)
                audit.add(s, actor, "account.sso_linked", _subject(acc.id))
            elif create:
                acc = _insert_account(
                    s,
                    address,
                    _clean_name(name or address),
                    grants or [],
                    actor,
                    oidc_subject=subject,
                )
                grants = None  # already given
            else:
                return None
        if grants is not None and set(grants) != set(_grants(s, acc.id)):
            _replace_roles(s, acc, grants, actor)
        _commit(s, "email: another account has this email or sign-in")
        s.refresh(acc)
        return _view(s, acc)


# --- sessions -------------------------------------------------------------------------------


def start_session(
    engine: Engine, account_id: str, via: str, absolute_s: float, now: datetime | None = None
) -> tuple[str, SessionView]:
    """A new session for the account: (the token for the cookie, its view). The token is
    returned once and only its hash is stored."""
    if not via or len(via) > 16:
        raise AccountError("via: 1 to 16 characters")
    at = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        id=_sha256(token),
        account_id=account_id,
        csrf=secrets.token_urlsafe(32),
        via=via,
        created_at=at,
        last_seen_at=at,
        expires_at=at + timedelta(seconds=absolute_s),
    )
    with Session(engine) as s:
        acc = _account(s, account_id)
        acc.last_sign_in_at = at  # every session start is a sign-in (password, SSO, link)
        s.add(acc)
        s.add(row)
        s.commit()
        s.refresh(row)
        return token, _session_view(row)


def resume_session(
    engine: Engine, token: str, idle_s: float, now: datetime | None = None
) -> tuple[SessionView, AccountView] | None:
    """The live session for `token` and its account; None when unknown, ended, idle longer
    than `idle_s`, past its absolute expiry, or when the account is disabled."""
    at = now or utcnow()
    with Session(engine) as s:
        row = s.get(StaffSession, _sha256(token))
        if row is None or row.revoked_at is not None or row.expires_at <= at:
            return None
        if row.last_seen_at + timedelta(seconds=idle_s) < at:
            return None
        acc = s.get(Account, row.account_id)
        if acc is None or acc.disabled:
            return None
        if at - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = at
            s.add(row)
            s.commit()
            s.refresh(row)
        return _session_view(row), _view(s, acc)


def end_session(engine: Engine, token: str) -> bool:
    """Sign out: True when a live session was ended."""
    with Session(engine) as s:
        result = s.execute(
            update(StaffSession)
            .where(col(StaffSession.id) == _sha256(token), col(StaffSession.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        s.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all_sessions(engine: Engine, account_id: str) -> int:
    """End every session of the account; how many were live."""
    with Session(engine) as s:
        ended = _end_sessions(s, account_id, utcnow())
        s.commit()
        return ended


# --- API keys -------------------------------------------------------------------------------


def create_api_key(
    engine: Engine, name: str, scopes: Iterable[str], actor: str
) -> tuple[str, ApiKeyView]:
    """A new integration key: (its text "hsk_<id>_<secret>", shown once; its view). Scopes are
    actions from roles.KEY_SCOPES, at least one."""
    clean = " ".join(name.split())
    if not clean or len(clean) > 100:
        raise AccountError("name: 1 to 100 characters")
    wanted: list[Action] = []
    for scope in scopes:
        try:
            action = Action(scope)
        except ValueError:
            action = None
        if action is None or action not in KEY_SCOPES:
            raise AccountError(f"scopes: {scope!r} is not an action a key may carry")
        if action not in wanted:
            wanted.append(action)
    if not wanted:
        raise AccountError("scopes: at least one")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        name=clean,
        secret_hash=_sha256(secret),
        scopes=[a.value for a in wanted],
        created_by=actor,
    )
    with Session(engine) as s:
        s.add(row)
        audit.add(s, actor, "api_key.created", f"api_key:{key_id}", scopes=row.scopes)
        s.commit()
        s.refresh(row)
        return f"{KEY_PREFIX}{key_id}_{secret}", _key_view(row)


def list_api_keys(engine: Engine) -> list[ApiKeyView]:
    with Session(engine) as s:
        return [_key_view(k) for k in s.exec(select(ApiKey).order_by(col(ApiKey.created_at)))]


def revoke_api_key(engine: Engine, key_id: str, actor: str) -> ApiKeyView:
    """Revoke a key for good (KeyError if unknown; revoking twice changes nothing)."""
    with Session(engine) as s:
        row = s.get(ApiKey, key_id)
        if row is None:
            raise KeyError(key_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(row)
            audit.add(s, actor, "api_key.revoked", f"api_key:{key_id}")
        s.commit()
        s.refresh(row)
        return _key_view(row)


def check_api_key(engine: Engine, text: str, now: datetime | None = None) -> ApiKeyView | None:
    """The live key `text` is; None when malformed, unknown, wrong or revoked."""
    m = _KEY_TEXT.fullmatch(text.strip())
    if m is None:
        return None
    key_id, secret = m.groups()
    at = now or utcnow()
    with Session(engine) as s:
        row = s.get(ApiKey, key_id)
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _sha256(secret)):
            return None
        if row.last_used_at is None or at - row.last_used_at > TOUCH_EVERY:
            row.last_used_at = at
            s.add(row)
            s.commit()
            s.refresh(row)
        return _key_view(row)


# --- setup links ----------------------------------------------------------------------------


def needs_first_admin(engine: Engine) -> bool:
    """True while no enabled account holds hr_admin (the first-run link is then offered)."""
    with Session(engine) as s:
        return not _enabled_admins(s)


def create_setup_link(
    engine: Engine,
    purpose: str,
    account_id: str | None = None,
    ttl_s: float = SETUP_LINK_TTL_S,
    now: datetime | None = None,
    actor: str = "system",
) -> str:
    """A one-time link's token: FIRST_ADMIN (no account) or RESET (for `account_id`). A new
    RESET link replaces the account's unused ones (marked used)."""
    if purpose not in PURPOSES:
        raise AccountError(f"purpose: one of {', '.join(sorted(PURPOSES))}")
    if (purpose == RESET) != (account_id is not None):
        raise AccountError("account_id: a reset link names an account, a first-admin link none")
    at = now or utcnow()
    token = secrets.token_urlsafe(32)
    with Session(engine) as s:
        ended = 0
        if account_id is not None:
            _account(s, account_id)
            # One live link per account: two made at once must not both stay usable.
            lock_row(s, Account, account_id, "name")
            ended = _end_links(s, account_id, at)
        s.add(
            SetupLink(
                id=_sha256(token),
                purpose=purpose,
                account_id=account_id,
                created_at=at,
                expires_at=at + timedelta(seconds=ttl_s),
            )
        )
        subject = "setup" if account_id is None else _subject(account_id)
        audit.add(s, actor, "setup_link.created", subject, purpose=purpose, links_ended=ended)
        s.commit()
    return token


def _usable(session: Session, token: str, at: datetime) -> SetupLink:
    row = session.get(SetupLink, _sha256(token))
    if row is None:
        raise LinkError("this link is not known")
    if row.used_at is not None:
        raise LinkError("this link was used already")
    if row.expires_at <= at:
        raise LinkError("this link has expired")
    return row


def link_purpose(engine: Engine, token: str, now: datetime | None = None) -> str:
    """What a usable link is for (FIRST_ADMIN or RESET), without using it; LinkError else."""
    with Session(engine) as s:
        return _usable(s, token, now or utcnow()).purpose


def link_email(engine: Engine, token: str, now: datetime | None = None) -> str | None:
    """The email of the account a usable reset link is for (None for a first-admin link), so
    the page can say whose password is being set; LinkError when the link is unusable."""
    with Session(engine) as s:
        row = _usable(s, token, now or utcnow())
        if row.account_id is None:
            return None
        acc = s.get(Account, row.account_id)
        return acc.email if acc is not None else None


def _consume(session: Session, token: str, purpose: str, at: datetime) -> SetupLink:
    """Mark the link used in the caller's transaction: a conditional UPDATE, so two
    concurrent uses cannot both succeed."""
    row = _usable(session, token, at)
    if row.purpose != purpose:
        raise LinkError("this link is for something else")
    result = session.execute(
        update(SetupLink)
        .where(col(SetupLink.id) == row.id, col(SetupLink.used_at).is_(None))
        .values(used_at=at)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkError("this link was used already")
    return row


def create_first_admin(
    engine: Engine, token: str, email: str, name: str, password: str, now: datetime | None = None
) -> AccountView:
    """Use a first-admin link to create the first hr_admin, all or nothing: a failure leaves
    the link usable; success marks every other first-admin link used. LinkError for a bad
    link, AccountConflict once an enabled hr_admin exists, AccountError for bad input."""
    address, clean, hashed = normalise_email(email), _clean_name(name), _policy(password)
    at = now or utcnow()
    with Session(engine) as s:
        _lock_admins(s)
        link = _consume(s, token, FIRST_ADMIN, at)
        if _enabled_admins(s):
            raise AccountConflict("an HR admin exists already; ask them for an account")
        _end_links(s, None, at)
        acc = _insert_account(
            s, address, clean, [RoleGrant(Role.HR_ADMIN)], f"setup_link:{link.id[:8]}", hashed
        )
        _commit(s, f"email: an account with {address} exists already")
        s.refresh(acc)
        return _view(s, acc)


def reset_with_link(
    engine: Engine, token: str, password: str, now: datetime | None = None
) -> AccountView:
    """Use a reset link: set its account's password (policy checked), end its sessions and
    other unused links and clear any lockout. LinkError for a bad link; a failure leaves the
    link usable."""
    hashed = _policy(password)
    at = now or utcnow()
    with Session(engine) as s:
        link = _consume(s, token, RESET, at)
        assert link.account_id is not None  # RESET links name their account
        acc = _account(s, link.account_id)
        _store_password(s, acc, hashed, f"setup_link:{link.id[:8]}", at)
        s.commit()
        s.refresh(acc)
        return _view(s, acc)
