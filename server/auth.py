"""Access: an admin API key, and signed tokens scoped to one interview and one role.

Token = base64url(JSON payload) "." base64url(HMAC-SHA256(secret, payload)); the payload holds
the interview id, the role ("candidate" or "interviewer"), an expiry and a token id. Secrets
that are not configured are generated once into the data directory (mode 600), so links
survive restarts. Tokens are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from server.settings import Settings

Role = Literal["candidate", "interviewer"]


class AuthError(Exception):
    """401: missing, malformed, forged or wrong-scope credentials."""


class Expired(AuthError):
    """410: the token was genuine but has expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _stored_secret(path: Path) -> str:
    """Read a secret from `path`, creating it (600) on first use."""
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


@dataclass(frozen=True)
class Claims:
    interview: str
    role: Role
    exp: float
    jti: str


class Auth:
    def __init__(self, settings: Settings) -> None:
        self._key = (
            settings.secret_key.get_secret_value()
            if settings.secret_key
            else _stored_secret(settings.data_dir / "secret.key")
        ).encode()
        self.admin_key = (
            settings.admin_api_key.get_secret_value()
            if settings.admin_api_key
            else _stored_secret(settings.data_dir / "admin.key")
        )

    def check_admin(self, authorization: str | None) -> None:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("admin calls need 'Authorization: Bearer <API key>'")
        if not hmac.compare_digest(authorization[7:].strip(), self.admin_key):
            raise AuthError("wrong API key")

    def issue(self, interview: str, role: Role, ttl_s: float, jti: str | None = None) -> str:
        payload = json.dumps(
            {
                "i": interview,
                "r": role,
                "e": int(time.time() + ttl_s),
                "j": jti or secrets.token_hex(8),
            },
            separators=(",", ":"),
        ).encode()
        sig = hmac.new(self._key, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(sig)}"

    def verify(self, token: str | None, interview: str, role: Role) -> Claims:
        if not token or token.count(".") != 1 or len(token) > 1024:
            raise AuthError("missing or malformed token")
        body, sig = token.split(".")
        try:
            payload = _unb64(body)
            given = _unb64(sig)
        except ValueError:
            raise AuthError("malformed token") from None
        if not hmac.compare_digest(hmac.new(self._key, payload, hashlib.sha256).digest(), given):
            raise AuthError("invalid token")
        data = json.loads(payload)
        claims = Claims(data["i"], data["r"], float(data["e"]), data["j"])
        if claims.interview != interview or claims.role != role:
            raise AuthError(f"this token is not a {role} token for this interview")
        if claims.exp < time.time():
            raise Expired("this link has expired")
        return claims
