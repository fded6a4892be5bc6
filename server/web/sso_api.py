"""Single sign-on for staff with OpenID Connect (server.web.oidc does the protocol).

`/api/sso/login` starts the code flow and keeps the sign-in in progress in a sealed,
HttpOnly cookie scoped to /api/sso for ten minutes; `/api/sso/callback` finishes it once
(the cookie is cleared whatever happens), finds the person's account and starts a session.

Who gets in: with a role map (HIRESTREAM_OIDC_ROLE_MAP) the provider's groups decide the
roles at every sign-in, and someone with no mapped group is refused; accounts are created on
first sign-in. Without one, roles are managed here and only people an HR admin added (same
email, verified by the provider) can sign in. Failures go back to the sign-in page with a
message; nothing from the provider (codes, tokens) is shown or logged.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hr_bridge import accounts
from hr_bridge.accounts import AccountView, RoleGrant
from server.app_keys import AUTH_KEY, OIDC_KEY
from server.errors import ConfigError
from server.settings import Settings
from server.web.auth import AuthError
from server.web.contract import Inputs, Operation, Reply, add
from server.web.oidc import OidcClient, OidcConfig, OidcError, PendingLogin
from server.web.staff_api import set_session_cookie
from server.web.staff_schemas import SsoCallbackQuery, SsoLoginQuery, SsoOut
from server.web.util import engine_of, error, json_response, settings_of

PENDING_COOKIE = "hs_sso"
PENDING_TTL_S = 600.0
CALLBACK = "/api/sso/callback"


def oidc_config(settings: Settings) -> OidcConfig | None:
    """The provider settings, checked (ConfigError names what is missing or wrong)."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id or settings.oidc_client_secret is None:
        raise ConfigError(
            "single sign-on needs HIRESTREAM_OIDC_CLIENT_ID and HIRESTREAM_OIDC_CLIENT_SECRET "
            "with HIRESTREAM_OIDC_ISSUER"
        )
    for group, labels in settings.oidc_role_map.items():
        for label in labels:
            try:
                RoleGrant.parse(label)
            except ValueError as err:
                raise ConfigError(f"HIRESTREAM_OIDC_ROLE_MAP[{group!r}]: {err}") from None
    return OidcConfig(
        issuer=settings.oidc_issuer.rstrip("/"),
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        redirect_uri=settings.effective_public_url + CALLBACK,
        roles_claim=settings.oidc_roles_claim,
        role_map={g: tuple(labels) for g, labels in settings.oidc_role_map.items()},
    )


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


async def sso_status(request: web.Request, _inp: Inputs[None, None, None]) -> web.Response:
    return json_response({"enabled": OIDC_KEY in request.app})


def _client(request: web.Request) -> OidcClient:
    if OIDC_KEY not in request.app:
        raise error(web.HTTPNotFound, "single sign-on is not configured")
    return request.app[OIDC_KEY]


async def sso_login(request: web.Request, inp: Inputs[None, SsoLoginQuery, None]) -> web.Response:
    client = _client(request)
    try:
        url, pending = await client.begin()
    except OidcError as err:
        return _back(request, f"single sign-on is unavailable: {err}")
    sealed = request.app[AUTH_KEY].seal(f"{inp.query.next}\n{pending.dumps()}", PENDING_TTL_S)
    response = redirect(url)
    response.set_cookie(
        PENDING_COOKIE,
        sealed,
        max_age=int(PENDING_TTL_S),
        path="/api/sso",
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back
        secure=settings_of(request).effective_public_url.startswith("https://"),
    )
    return response


def _back(request: web.Request, message: str) -> web.Response:
    """To the sign-in page with a message; the sign-in in progress is over either way."""
    response = redirect("/signin?" + urlencode({"sso_error": message}))
    response.del_cookie(PENDING_COOKIE, path="/api/sso")
    return response


async def sso_callback(
    request: web.Request, inp: Inputs[None, SsoCallbackQuery, None]
) -> web.Response:
    client = _client(request)
    try:
        text = request.app[AUTH_KEY].unseal(request.cookies.get(PENDING_COOKIE))
        target, pending_text = text.split("\n", 1)
        pending = PendingLogin.loads(pending_text)
    except (AuthError, ValueError, OidcError):
        return _back(request, "the sign-in took too long or was started elsewhere; try again")
    query = {k: v for k, v in request.query.items()}
    try:
        identity = await client.finish(pending, query)
    except OidcError as err:
        return _back(request, f"single sign-on failed: {err}")
    labels = client.role_labels(identity)
    grants = None if labels is None else [RoleGrant.parse(label) for label in labels]
    if grants is not None and not grants:
        return _back(request, "your organisation account has no hirestream role; ask an HR admin")
    # The email finds or makes the account: only one the provider vouches for (a missing
    # claim is not a yes: some providers let people type any address).
    if not identity.email or identity.email_verified is not True:
        return _back(request, "the provider did not confirm your email address")
    find = functools.partial(
        accounts.account_for_oidc,
        engine_of(request),
        identity.key,
        identity.email,
        identity.name or identity.email,
        grants,
        create=grants is not None,
        actor=f"single sign-on ({client.config.issuer})",
    )
    try:
        account: AccountView | None = await asyncio.to_thread(find)
    except (accounts.AccountError, accounts.AccountConflict) as err:
        return _back(request, f"single sign-on failed: {err}")
    if account is None:
        return _back(request, f"no hirestream account for {identity.email}; ask an HR admin")
    if account.disabled:
        return _back(request, "this account is disabled; ask an HR admin")
    settings = settings_of(request)
    token, _session = await asyncio.to_thread(
        accounts.start_session, engine_of(request), account.id, "sso", settings.session_max_s
    )
    response = redirect(target)
    response.del_cookie(PENDING_COOKIE, path="/api/sso")
    set_session_cookie(response, settings, token)
    return response


OPERATIONS: tuple[Operation[Any, Any, Any], ...] = (
    Operation(
        "GET",
        "/api/sso",
        sso_status,
        "Whether single sign-on is configured",
        (),
        {200: Reply("OK", SsoOut)},
    ),
    Operation(
        "GET",
        "/api/sso/login",
        sso_login,
        "Start single sign-on: redirects to the provider (then back to ?next=, a local path)",
        (),
        {302: Reply("to the provider", json=False), 404: "single sign-on is not configured"},
        query=SsoLoginQuery,
    ),
    Operation(
        "GET",
        CALLBACK,
        sso_callback,
        "Where the provider sends the person back; signs in and redirects to the page asked",
        (),
        {
            302: Reply("signed in (to the page asked), or to /signin with a message", json=False),
            404: "single sign-on is not configured",
        },
        query=SsoCallbackQuery,
    ),
)


def add_routes(app: web.Application) -> None:
    add(app, OPERATIONS)
