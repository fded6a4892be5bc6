"""Link tokens scoped to one interview and one role, and the operator's admin key (staff
access as a whole is decided in server.web.access).

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
from collections import OrderedDict, deque
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
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


class FailureThrottle:
    """Bad credentials per client address: after `limit` failures within `window_s`, that
    address waits until the oldest of them is `window_s` old. In-process state: each server
    process counts on its own (and a restart forgets)."""

    def __init__(self, limit: int, window_s: float, max_clients: int = 10_000) -> None:
        self.limit, self.window_s, self._max = limit, window_s, max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds this client must wait before trying credentials again (0: go ahead)."""
        now = time.monotonic() if now is None else now
        seen = self._failures.get(client)
        if seen is None:
            return 0.0
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if not seen:
            del self._failures[client]
            return 0.0
        return seen[0] + self.window_s - now if len(seen) >= self.limit else 0.0

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        seen = self._failures.setdefault(client, deque(maxlen=self.limit))
        seen.append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self._max:  # bounded memory: forget the quietest
            self._failures.popitem(last=False)


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
        self.throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window_s)

    def seal(self, text: str, ttl_s: float) -> str:
        """`text` signed and timed, to keep client-side (a sign-in in progress, in a cookie).
        Its own MAC domain: a sealed value is never accepted as a link token, nor the reverse."""
        payload = json.dumps({"v": text, "e": int(time.time() + ttl_s)}).encode()
        return f"{_b64(payload)}.{_b64(self._mac(b'seal:' + payload))}"

    def unseal(self, sealed: str | None) -> str:
        """The text of a value from seal(); AuthError if forged or malformed, Expired if old."""
        if not isinstance(sealed, str) or sealed.count(".") != 1 or len(sealed) > 8192:
            raise AuthError("missing or malformed")
        body, sig = sealed.split(".")
        try:
            payload, given = _unb64(body), _unb64(sig)
        except ValueError:
            raise AuthError("malformed") from None
        if not hmac.compare_digest(self._mac(b"seal:" + payload), given):
            raise AuthError("forged")
        data = json.loads(payload)
        if float(data["e"]) < time.time():
            raise Expired("expired")
        return str(data["v"])

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

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
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 1024:
            raise AuthError("missing or malformed token")
        body, sig = token.split(".")
        try:
            payload = _unb64(body)
            given = _unb64(sig)
        except ValueError:
            raise AuthError("malformed token") from None
        if not hmac.compare_digest(hmac.new(self._key, payload, hashlib.sha256).digest(), given):
            raise AuthError("invalid token")
        try:
            data = json.loads(payload)
            claims = Claims(data["i"], data["r"], float(data["e"]), data["j"])
        except (ValueError, TypeError, KeyError):  # signed by us, so only if the key leaked
            raise AuthError("malformed token") from None
        if claims.interview != interview or claims.role != role:
            raise AuthError(f"this token is not a {role} token for this interview")
        if claims.exp < time.time():
            raise Expired("this link has expired")
        return claims
