"""The OpenID Connect client (server.web.oidc) against a real provider process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from server.web.oidc import OidcClient, OidcConfig, OidcError, OidcIdentity, PendingLogin
from tests.oidc_provider import OidcProvider, free_port, running_oidc_provider

REDIRECT_URI = "http://127.0.0.1:9/api/sso/callback"
ROLE_MAP = {
    "hr-admins": ("hr_admin",),
    "recruiting": ("recruiter", "auditor"),
    "everyone": ("auditor", "hiring_manager:requisition=r1"),
}
ANN = {
    "email": "ann@example.org",
    "email_verified": True,
    "name": "Ann Example",
    "groups": ["everyone", "recruiting", "not-mapped"],
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with running_oidc_provider(log, users={"ann": ANN}) as p:
        yield p


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _config(issuer: str, **overrides: object) -> OidcConfig:
    base = OidcConfig(
        issuer=issuer,
        client_id="hirestream",
        client_secret="not-a-real-secret",
        redirect_uri=REDIRECT_URI,
        role_map=ROLE_MAP,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def _query(callback: str) -> dict[str, str]:
    assert callback.startswith(REDIRECT_URI + "?"), callback
    return dict(parse_qsl(urlsplit(callback).query))


async def _signed_in(
    client: OidcClient, provider: OidcProvider, http: aiohttp.ClientSession, sub: str = "ann"
) -> tuple[PendingLogin, dict[str, str]]:
    url, pending = await client.begin()
    return pending, _query(await provider.sign_in(http, url, sub))


async def test_round_trip_gives_the_identity_and_its_roles(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    client = OidcClient(_config(provider.issuer), http)
    url, pending = await client.begin()
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(provider.issuer + "/oauth2/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == "hirestream"
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "openid email profile"
    assert (params["state"], params["nonce"]) == (pending.state, pending.nonce)
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == create_s256_code_challenge(pending.code_verifier)
    assert pending.code_verifier not in url

    query = _query(await provider.sign_in(http, url, "ann"))
    assert query["state"] == pending.state
    identity = await client.finish(pending, query)
    assert identity == OidcIdentity(
        issuer=provider.issuer,
        subject="ann",
        email="ann@example.org",
        email_verified=True,
        name="Ann Example",
        groups=("everyone", "recruiting", "not-mapped"),
    )
    assert identity.key == f"{provider.issuer}|ann"
    # Map order, each label once ("auditor" comes from two groups).
    assert client.role_labels(identity) == ("recruiter", "auditor", "hiring_manager:requisition=r1")


async def test_claims_as_set_on_the_provider_and_no_role_map(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    # Groups in another claim, as one comma/space separated string; no name, no
    # email_verified (so the client also asks the userinfo endpoint, which has none either).
    await provider.set_user(
        http, "bob", {"email": "bob@example.org", "roles": "hr-admins, everyone  hr-admins"}
    )
    mapped = OidcClient(_config(provider.issuer, roles_claim="roles"), http)
    identity = await mapped.finish(*await _signed_in(mapped, provider, http, "bob"))
    assert identity.groups == ("hr-admins", "everyone")
    assert (identity.email, identity.email_verified, identity.name) == ("bob@example.org", None, "")
    assert mapped.role_labels(identity) == ("hr_admin", "auditor", "hiring_manager:requisition=r1")

    unmapped = OidcClient(_config(provider.issuer, role_map={}), http)
    identity = await unmapped.finish(*await _signed_in(unmapped, provider, http, "ann"))
    assert identity.subject == "ann"
    assert unmapped.role_labels(identity) is None


async def test_state_mismatch_is_refused_before_the_code_is_spent(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    client = OidcClient(_config(provider.issuer), http)
    pending, query = await _signed_in(client, provider, http)
    with pytest.raises(OidcError, match="state mismatch"):
        await client.finish(pending, {**query, "state": pending.state[:-1] + "x"})
    without_state = {k: v for k, v in query.items() if k != "state"}
    with pytest.raises(OidcError, match="state mismatch"):
        await client.finish(pending, without_state)
    # Another sign-in's pending state does not fit this callback either.
    _, other_pending = await client.begin()
    with pytest.raises(OidcError, match="state mismatch"):
        await client.finish(other_pending, query)
    # The code was never sent to the provider: the genuine pair still signs in.
    assert (await client.finish(pending, query)).subject == "ann"


async def test_a_code_is_good_for_one_sign_in(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    client = OidcClient(_config(provider.issuer), http)
    pending, query = await _signed_in(client, provider, http)
    assert (await client.finish(pending, query)).subject == "ann"
    with pytest.raises(OidcError, match="invalid_grant") as refused:
        await client.finish(pending, query)
    assert query["code"] not in str(refused.value)


async def test_a_tampered_nonce_fails_id_token_validation(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    client = OidcClient(_config(provider.issuer), http)
    pending, query = await _signed_in(client, provider, http)
    with pytest.raises(OidcError, match="ID token nonce claim invalid"):
        await client.finish(replace(pending, nonce=pending.nonce + "x"), query)


async def test_provider_denial_is_an_error(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    client = OidcClient(_config(provider.issuer), http)
    url, pending = await client.begin()
    query = _query(await provider.deny(http, url))
    assert query["error"] == "access_denied"
    with pytest.raises(OidcError, match="provider refused sign-in: access_denied"):
        await client.finish(pending, query)
    # A crafted error is not echoed verbatim.
    with pytest.raises(OidcError, match=r"provider refused sign-in: error$"):
        await client.finish(pending, {"error": "<script>", "state": pending.state})


async def test_missing_code_and_stale_pending_state(
    provider: OidcProvider, http: aiohttp.ClientSession
) -> None:
    client = OidcClient(_config(provider.issuer), http)
    pending, query = await _signed_in(client, provider, http)
    with pytest.raises(OidcError, match="no authorization code"):
        await client.finish(pending, {"state": pending.state})
    with pytest.raises(OidcError, match="too long"):
        await client.finish(replace(pending, created_at=pending.created_at - 3600), query)


async def test_unreachable_issuer(http: aiohttp.ClientSession) -> None:
    client = OidcClient(_config(f"http://127.0.0.1:{free_port()}"), http)
    with pytest.raises(OidcError, match="provider unreachable"):
        await client.begin()


async def test_plain_http_issuer_only_on_loopback(http: aiohttp.ClientSession) -> None:
    client = OidcClient(_config("http://login.example.com"), http)
    with pytest.raises(OidcError, match="not an https URL"):
        await client.begin()


async def test_discovery_naming_another_issuer_is_refused(http: aiohttp.ClientSession) -> None:
    """A discovery document must name the issuer it was fetched from (OIDC Discovery 4.3)."""

    async def discovery(request: web.Request) -> web.Response:
        return web.json_response({"issuer": "https://login.example.com", "jwks_uri": "x"})

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    async with TestServer(app, host="127.0.0.1") as server:
        client = OidcClient(_config(str(server.make_url("/"))), http)
        with pytest.raises(OidcError, match="another issuer"):
            await client.begin()


@pytest.fixture(scope="module")
def two_keys() -> tuple[RSAKey, RSAKey]:
    """Two RSA keys with the same kid (made outside any event loop: generating one blocks)."""
    return tuple(RSAKey.generate_key(2048, parameters={"kid": "k1"}) for _ in range(2))  # type: ignore[return-value]


async def test_an_id_token_not_signed_by_the_providers_keys_is_refused(
    two_keys: tuple[RSAKey, RSAKey], http: aiohttp.ClientSession
) -> None:
    """A provider stand-in that publishes one key and signs with another (otherwise valid
    claims): the signature check refuses, after fetching the keys once more."""
    published, signer = two_keys
    jwks_fetches = 0

    async def discovery(request: web.Request) -> web.Response:
        base = str(request.url.origin())
        return web.json_response(
            {
                "issuer": base,
                "authorization_endpoint": base + "/authorize",
                "token_endpoint": base + "/token",
                "jwks_uri": base + "/jwks",
            }
        )

    async def jwks(request: web.Request) -> web.Response:
        nonlocal jwks_fetches
        jwks_fetches += 1
        return web.json_response(KeySet([published]).as_dict(private=False))

    async def token(request: web.Request) -> web.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        form = await request.post()
        assert form["code"] == "the-code" and len(str(form["code_verifier"])) >= 43
        now = int(time.time())
        claims: dict[str, object] = {"iss": str(request.url.origin()), "aud": "hirestream"}
        claims |= {"sub": "mallory", "iat": now, "exp": now + 60, "nonce": nonce}
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)
        return web.json_response(
            {"access_token": "at", "token_type": "Bearer", "id_token": id_token}
        )

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks", jwks)
    app.router.add_post("/token", token)
    async with TestServer(app, host="127.0.0.1") as server:
        client = OidcClient(_config(str(server.make_url("")).rstrip("/")), http)
        _, pending = await client.begin()
        nonce = pending.nonce
        with pytest.raises(OidcError, match="ID token signature invalid"):
            await client.finish(pending, {"code": "the-code", "state": pending.state})
    assert jwks_fetches == 2


async def test_rotated_provider_keys_are_fetched_again(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The provider makes new keys when it restarts: the client's cached JWKS no longer
    verifies, it fetches the keys once more and the sign-in goes through."""
    log, port = tmp_path / "provider.log", free_port()
    client: OidcClient | None = None
    for _ in range(2):
        running = running_oidc_provider(log, port=port, users={"ann": ANN})
        provider = await asyncio.to_thread(running.__enter__)
        try:
            client = client or OidcClient(_config(provider.issuer), http)
            assert (await client.finish(*await _signed_in(client, provider, http))).email
        finally:
            await asyncio.to_thread(running.__exit__, None, None, None)
    assert log.read_text().count("GET /jwks") == 2


def test_pending_login_round_trip() -> None:
    pending = PendingLogin(state="s" * 43, nonce="n" * 43, code_verifier="v" * 64, created_at=1.5)
    assert PendingLogin.loads(pending.dumps()) == pending
    for bad in ("", "not json", "[]", '{"state": "s"}', pending.dumps().replace("1.5", '"x"')):
        with pytest.raises(OidcError, match="sign-in state unreadable"):
            PendingLogin.loads(bad)
