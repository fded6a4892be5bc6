"""Staff sign-in with OpenID Connect: the authorization code flow with PKCE, as a client.

`OidcClient.begin` builds the provider's authorization URL and a `PendingLogin` (state, nonce,
PKCE verifier) that the caller keeps until the browser comes back; `OidcClient.finish` checks
the callback, exchanges the code at the token endpoint and validates the ID token (signature
against the provider's JWKS, iss, aud, exp, iat, nonce, at_hash) before returning who signed in.
Authlib supplies the protocol pieces (tokens, PKCE challenge, ID-token claim rules), joserfc
the JWS verification (Authlib's own clients use it), aiohttp the HTTP calls.

Discovery and JWKS are fetched lazily and cached; an ID token signed with a key id the cached
JWKS lacks, or that fails verification with the cached keys, makes one refetch (the provider
may have rotated its keys). Every failure is an `OidcError`
whose message is safe to show: it never holds a token, a code or the client secret.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.common.urls import add_params_to_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
# Discovery is cached this long; keys are refetched sooner, when an unknown kid shows up.
DISCOVERY_TTL_S = 3600.0
# Clock skew allowed between us and the provider on exp/iat.
LEEWAY_S = 60
# A sign-in not finished within this time is refused (its pending state is stale).
PENDING_MAX_AGE_S = 600.0
# ID tokens signed with anything else (HS*, "none") are refused: only the provider's keys count.
ASYMMETRIC_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# An OAuth error code as RFC 6749 allows it; anything else is not echoed back to the user.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class OidcError(Exception):
    """Sign-in failed; the message is safe to show (no tokens, codes or secrets)."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str  # e.g. https://login.example.com (discovery at /.well-known/openid-configuration)
    client_id: str
    client_secret: str
    redirect_uri: str  # <public_url>/api/sso/callback
    scopes: str = "openid email profile"
    roles_claim: str = "groups"  # list of str, or one space/comma separated str
    # group -> role labels ("hr_admin", "hiring_manager:requisition=<id>", ...)
    role_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingLogin:
    """What must survive between begin and finish (the caller keeps it, signed, client-side)."""

    state: str
    nonce: str
    code_verifier: str
    created_at: float

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> PendingLogin:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise OidcError("sign-in state unreadable") from err
        if not isinstance(data, dict):
            raise OidcError("sign-in state unreadable")
        strings = [data.get(k) for k in ("state", "nonce", "code_verifier")]
        created_at = data.get("created_at")
        if not all(isinstance(s, str) and s for s in strings) or not isinstance(
            created_at, int | float
        ):
            raise OidcError("sign-in state unreadable")
        return cls(
            state=data["state"],
            nonce=data["nonce"],
            code_verifier=data["code_verifier"],
            created_at=float(created_at),
        )


@dataclass(frozen=True)
class OidcIdentity:
    issuer: str
    subject: str
    email: str
    email_verified: bool | None
    name: str
    groups: tuple[str, ...]

    @property
    def key(self) -> str:
        """Who this is across providers (stored as the account's oidc_subject)."""
        return f"{self.issuer}|{self.subject}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_secure(url: str, what: str) -> str:
    """Provider URLs must be https; plain http only to this machine (tests, a local IdP)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        return url
    raise OidcError(f"provider {what} is not an https URL")


def _groups(value: object) -> tuple[str, ...]:
    """A groups claim as a list of names, or one string separated by spaces or commas."""
    if isinstance(value, str):
        names: list[str] = re.split(r"[\s,]+", value)
    elif isinstance(value, list):
        names = [v for v in value if isinstance(v, str)]
    else:
        return ()
    return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))


def _name(claims: Mapping[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [claims.get("given_name"), claims.get("family_name")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if joined:
        return joined
    username = claims.get("preferred_username")
    return username.strip() if isinstance(username, str) else ""


def _error_code(value: object) -> str:
    return value if isinstance(value, str) and _ERROR_CODE.fullmatch(value) else "error"


class OidcClient:
    """One configured provider. Share one instance (it caches discovery and keys)."""

    def __init__(self, config: OidcConfig, http: aiohttp.ClientSession) -> None:
        self.config = config
        self._http = http
        self._issuer = config.issuer.rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    async def begin(self) -> tuple[str, PendingLogin]:
        """The URL to send the browser to, and what `finish` needs to check its return."""
        meta = await self._discover()
        pending = PendingLogin(
            state=generate_token(43),
            nonce=generate_token(43),
            code_verifier=generate_token(64),  # RFC 7636: 43-128 unreserved characters
            created_at=time.time(),
        )
        params = [
            ("response_type", "code"),
            ("client_id", self.config.client_id),
            ("redirect_uri", self.config.redirect_uri),
            ("scope", self.config.scopes),
            ("state", pending.state),
            ("nonce", pending.nonce),
            ("code_challenge", create_s256_code_challenge(pending.code_verifier)),
            ("code_challenge_method", "S256"),
        ]
        return str(add_params_to_uri(meta["authorization_endpoint"], params)), pending

    async def finish(self, pending: PendingLogin, query: Mapping[str, str]) -> OidcIdentity:
        """Check the provider's redirect back (its query parameters) and return who signed in."""
        if "error" in query:
            raise OidcError(f"provider refused sign-in: {_error_code(query['error'])}")
        returned = query.get("state", "").encode()
        if not hmac.compare_digest(returned, pending.state.encode()):
            raise OidcError("state mismatch")
        if time.time() - pending.created_at > PENDING_MAX_AGE_S:
            raise OidcError("sign-in took too long; start again")
        code = query.get("code")
        if not code:
            raise OidcError("provider returned no authorization code")
        meta = await self._discover()
        tokens = await self._exchange(meta, code, pending.code_verifier)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise OidcError("provider returned no ID token")
        claims = await self._validate_id_token(meta, id_token, access_token, pending.nonce)
        if self._lacks_profile(claims) and isinstance(meta.get("userinfo_endpoint"), str):
            extra = await self._userinfo(meta["userinfo_endpoint"], access_token)
            if extra.get("sub") != claims["sub"]:
                raise OidcError("userinfo is about another subject")
            claims = {**extra, **claims}
        verified = claims.get("email_verified")
        email = claims.get("email")
        return OidcIdentity(
            issuer=self._issuer,
            subject=str(claims["sub"]),
            email=email.strip() if isinstance(email, str) else "",
            email_verified=verified if isinstance(verified, bool) else None,
            name=_name(claims),
            groups=_groups(claims.get(self.config.roles_claim)),
        )

    def role_labels(self, identity: OidcIdentity) -> tuple[str, ...] | None:
        """Role labels the identity's groups map to, in map order, each once; None when no map
        is configured (roles are then not managed from the provider)."""
        if not self.config.role_map:
            return None
        held = set(identity.groups)
        labels = (
            label
            for group, group_labels in self.config.role_map.items()
            if group in held
            for label in group_labels
        )
        return tuple(dict.fromkeys(labels))

    def _lacks_profile(self, claims: Mapping[str, Any]) -> bool:
        return any(claims.get(k) is None for k in ("email", "name", self.config.roles_claim))

    async def _discover(self) -> dict[str, Any]:
        async with self._lock:
            fresh = time.monotonic() - self._metadata_at < DISCOVERY_TTL_S
            if self._metadata is not None and fresh:
                return self._metadata
            url = _require_secure(self._issuer + DISCOVERY_PATH, "issuer")
            meta = await self._get_json(url, "discovery")
            if str(meta.get("issuer", "")).rstrip("/") != self._issuer:
                raise OidcError("provider's discovery names another issuer")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(meta.get(key), str):
                    raise OidcError(f"provider's discovery lacks {key}")
                _require_secure(meta[key], key)
            if isinstance(meta.get("userinfo_endpoint"), str):
                _require_secure(meta["userinfo_endpoint"], "userinfo_endpoint")
            self._metadata, self._metadata_at = meta, time.monotonic()
            self._keys = None
            return meta

    async def _key_set(self, meta: Mapping[str, Any], refresh: bool = False) -> KeySet:
        async with self._lock:
            if self._keys is None or refresh:
                data = await self._get_json(meta["jwks_uri"], "JWKS")
                try:
                    self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError) as err:
                    raise OidcError("provider's JWKS unreadable") from err
            return self._keys

    async def _exchange(self, meta: Mapping[str, Any], code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
        }
        # Discovery's default is client_secret_basic (OpenID Connect Discovery 1.0, section 3).
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        headers = {"Accept": "application/json"}
        if "client_secret_basic" in methods:
            # RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
            headers["Authorization"] = aiohttp.encode_basic_auth(
                quote(self.config.client_id, safe=""), quote(self.config.client_secret, safe="")
            )
        elif "client_secret_post" in methods:
            form["client_id"] = self.config.client_id
            form["client_secret"] = self.config.client_secret
        else:
            raise OidcError("provider offers no client authentication we support")
        try:
            async with self._http.post(
                meta["token_endpoint"],
                data=form,
                headers=headers,
                timeout=HTTP_TIMEOUT,
                allow_redirects=False,
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise OidcError("provider unreachable") from err
        except ValueError as err:
            raise OidcError("provider's token response unreadable") from err
        if not isinstance(body, dict):
            raise OidcError("provider's token response unreadable")
        if status != 200:
            raise OidcError(f"provider refused the code: {_error_code(body.get('error'))}")
        return body

    async def _validate_id_token(
        self, meta: Mapping[str, Any], id_token: str, access_token: str, nonce: str
    ) -> dict[str, Any]:
        offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algs = [a for a in offered if a in ASYMMETRIC_ALGS]
        if not algs:
            raise OidcError("provider signs ID tokens with no algorithm we accept")
        keys = await self._key_set(meta)
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=algs)
            except (InvalidKeyIdError, BadSignatureError):
                # The provider may have rotated its keys since we cached them (a token without
                # a kid fails as a bad signature then): fetch them again, once.
                keys = await self._key_set(meta, refresh=True)
                token = jwt.decode(id_token, keys, algorithms=algs)
        except (BadSignatureError, InvalidKeyIdError) as err:
            raise OidcError("ID token signature invalid") from err
        except JoseError as err:
            raise OidcError("ID token unreadable") from err
        options = {
            "iss": {"essential": True, "value": self._issuer},
            "aud": {"essential": True, "value": self.config.client_id},
            "sub": {"essential": True},
        }
        params = {"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token}
        claims = CodeIDToken(token.claims, token.header, options, params)
        try:
            claims.validate(leeway=LEEWAY_S)
        except ExpiredTokenError as err:
            raise OidcError("ID token expired") from err
        except MissingClaimError as err:
            raise OidcError(f"ID token lacks {err.claim}") from err
        except ClaimError as err:
            raise OidcError(f"ID token {err.claim} claim invalid") from err
        return dict(token.claims)

    async def _userinfo(self, url: str, access_token: str) -> dict[str, Any]:
        return await self._get_json(url, "userinfo", {"Authorization": f"Bearer {access_token}"})

    async def _get_json(
        self, url: str, what: str, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            async with self._http.get(
                url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False
            ) as resp:
                if resp.status != 200:
                    raise OidcError(f"provider's {what} answered HTTP {resp.status}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise OidcError("provider unreachable") from err
        except ValueError as err:
            raise OidcError(f"provider's {what} unreadable") from err
        if not isinstance(body, dict):
            raise OidcError(f"provider's {what} unreadable")
        return body
