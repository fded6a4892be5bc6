"""Staff sign-in and what people manage: sessions (password, TOTP, single sign-on), the first
HR admin and password resets by one-time link, people and their roles, integration API keys,
the audit trail, and a live-view link for an assigned interview.

Session cookie: HttpOnly, SameSite=Lax, Secure when the public URL is https; the store keeps
only a hash of it (hr_bridge.accounts). Writes made with it need the session's CSRF token
(server.web.access). Sign-in failures count per address (the same throttle as bad API
credentials) and per account (lockout after `lockout_failures`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from aiohttp import web

from hr_bridge import accounts, audit
from hr_bridge.accounts import (
    AccountConflict,
    AccountError,
    AccountView,
    ApiKeyView,
    LinkError,
    LockoutPolicy,
    RoleGrant,
    SignInOutcome,
)
from hr_bridge.roles import DESCRIPTIONS, GRANTS, KEY_SCOPES, SCOPED, Action, Role
from server.app_keys import AUTH_KEY
from server.settings import Settings
from server.web.access import (
    PERSON_LINK,
    SESSION_COOKIE,
    Principal,
    failed,
    grant_labels,
    throttled,
    user_principal,
)
from server.web.contract import Inputs, Operation, Reply, Scheme, add
from server.web.schemas import IdPath
from server.web.staff_schemas import (
    AuditOut,
    AuditQuery,
    KeyCreated,
    KeyIn,
    KeyOut,
    KeyPath,
    LiveLinkOut,
    MeOut,
    ResetIn,
    RolesOut,
    SetupCheckIn,
    SetupCheckOut,
    SetupIn,
    SetupLinkOut,
    SignInIn,
    SignInNext,
    TotpBeginOut,
    TotpCodeIn,
    TotpIn,
    UserCreated,
    UserIn,
    UserOut,
    UserPatch,
    UserPath,
)
from server.web.util import engine_of, error, interview_or_404, json_response, settings_of

T = TypeVar("T")
STAFF: tuple[Scheme, ...] = ("staff",)


def setup_url(settings: Settings, token: str) -> str:
    """The page a one-time link opens; the token rides in the fragment (never sent in a URL)."""
    return settings.effective_public_url + accounts.setup_path(token)


def me_view(who: Principal, account: AccountView | None = None) -> dict[str, Any]:
    return MeOut(
        kind=who.kind,
        id=who.id,
        name=who.name,
        email=who.email,
        roles=grant_labels(who.grants),
        actions=[a.value for a in who.actions()],
        csrf=who.session.csrf if who.session else None,
        totp_enabled=bool(account and account.totp_enabled),
        sso=bool(account and account.sso),
    ).model_dump(mode="json")


def user_view(acc: AccountView) -> dict[str, Any]:
    return UserOut(
        id=acc.id,
        email=acc.email,
        name=acc.name,
        roles=grant_labels(acc.roles),
        disabled=acc.disabled,
        totp_enabled=acc.totp_enabled,
        sso=acc.sso,
        has_password=acc.has_password,
        locked_until=acc.locked_until,
        last_sign_in_at=acc.last_sign_in_at,
        created_at=acc.created_at,
    ).model_dump(mode="json")


def key_view(key: ApiKeyView) -> dict[str, Any]:
    return KeyOut(
        id=key.id,
        name=key.name,
        scopes=[s.value for s in key.scopes],
        created_by=key.created_by,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    ).model_dump(mode="json")


async def _call(fn: Callable[..., T], *args: Any, field: str | None = None) -> T:
    """A blocking store call that may refuse: bad input (400) or a conflict (409)."""
    try:
        return await asyncio.to_thread(fn, *args)
    except AccountError as err:
        raise error(web.HTTPBadRequest, str(err), field or str(err).split(":", 1)[0]) from None
    except AccountConflict as err:
        raise error(web.HTTPConflict, str(err)) from None


def _grants(labels: list[str]) -> list[RoleGrant]:
    try:
        return [RoleGrant.parse(label) for label in labels]
    except ValueError as err:
        raise error(web.HTTPBadRequest, f"roles: {err}", "roles") from None


async def signed_in(
    request: web.Request, account: AccountView, via: str, body: dict[str, Any] | None = None
) -> web.Response:
    """Start a session for `account` and answer with it (and its cookie)."""
    settings = settings_of(request)
    token, session = await asyncio.to_thread(
        accounts.start_session, engine_of(request), account.id, via, settings.session_max_s
    )
    who = user_principal(account, session)
    response = json_response(body if body is not None else me_view(who, account))
    set_session_cookie(response, settings, token)
    return response


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_max_s),
        path="/",
        httponly=True,
        samesite="Lax",  # Strict would drop it on the way back from single sign-on
        secure=settings.effective_public_url.startswith("https://"),
    )


def json_only(request: web.Request) -> None:
    """Sign-in and setup take JSON only: a cross-site form (text/plain or urlencoded) cannot
    send it without the browser asking first, so no other site can sign a browser in to an
    account of its choosing."""
    if request.content_type != "application/json":
        raise error(web.HTTPUnsupportedMediaType, "send the body as application/json")


async def sign_in(request: web.Request, inp: Inputs[SignInIn, None, None]) -> web.Response:
    json_only(request)
    throttled(request, "failed sign-ins")
    settings = settings_of(request)
    body = inp.body
    policy = LockoutPolicy(settings.lockout_failures, settings.lockout_s)
    result = await asyncio.to_thread(
        accounts.sign_in, engine_of(request), body.email, body.password, body.code, policy
    )
    if result.outcome == SignInOutcome.OK:
        assert result.account is not None
        return await signed_in(request, result.account, "password")
    if result.outcome != SignInOutcome.TOTP_REQUIRED:
        failed(request)
    if result.outcome == SignInOutcome.LOCKED:
        until = result.locked_until or datetime.now(UTC)
        wait = max(1, round((until - datetime.now(UTC)).total_seconds()))
        raise error(
            web.HTTPTooManyRequests,
            f"too many wrong attempts: this account is locked until "
            f"{until:%H:%M} UTC; an HR admin can unlock it",
            headers={"Retry-After": str(wait)},
        )
    if result.outcome == SignInOutcome.DISABLED:
        raise error(web.HTTPForbidden, "this account is disabled; ask an HR admin")
    if result.outcome == SignInOutcome.TOTP_REQUIRED:
        raise error(web.HTTPUnauthorized, "enter the code from your authenticator app", "code")
    if result.outcome == SignInOutcome.BAD_TOTP:
        raise error(web.HTTPUnauthorized, "wrong code; try the newest one", "code")
    raise error(web.HTTPUnauthorized, "wrong email or password")


async def sign_out(request: web.Request, inp: Inputs[None, None, None]) -> web.Response:
    who = inp.staff
    response = web.Response(status=204)
    token = request.cookies.get(SESSION_COOKIE)
    if who.session is not None and token is not None:
        await asyncio.to_thread(accounts.end_session, engine_of(request), token)
        await audit_as(request, who, "account.sign_out")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def sign_out_everywhere(request: web.Request, inp: Inputs[None, None, None]) -> web.Response:
    who = _person(inp.staff)
    await asyncio.to_thread(accounts.end_all_sessions, engine_of(request), who.id)
    await audit_as(request, who, "account.sign_out_everywhere")
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def audit_as(request: web.Request, who: Principal, action: str) -> None:
    """An audit entry for an action that changes nothing else (awaited: none is lost)."""
    engine = engine_of(request)
    await asyncio.to_thread(audit.record, engine, who.actor, action, f"account:{who.id}")


def _person(who: Principal) -> Principal:
    if who.kind != "user":
        raise error(web.HTTPBadRequest, "this is for signed-in people, not keys")
    return who


async def me(request: web.Request, inp: Inputs[None, None, None]) -> web.Response:
    who = inp.staff
    account = None
    if who.kind == "user":
        account = await asyncio.to_thread(accounts.get_account, engine_of(request), who.id)
    return json_response(me_view(who, account))


async def totp_begin(request: web.Request, inp: Inputs[None, None, None]) -> web.Response:
    who = _person(inp.staff)
    assert who.email is not None
    await _no_totp_yet(request, who)
    secret = accounts.new_totp_secret()
    return json_response({"secret": secret, "uri": accounts.totp_uri(secret, who.email)})


async def _no_totp_yet(request: web.Request, who: Principal) -> None:
    account = await asyncio.to_thread(accounts.get_account, engine_of(request), who.id)
    if account is not None and account.totp_enabled:  # replacing it would need no old code
        raise error(web.HTTPConflict, "two-factor is on already: turn it off first")


async def totp_enable(request: web.Request, inp: Inputs[TotpIn, None, None]) -> web.Response:
    who = _person(inp.staff)
    await _no_totp_yet(request, who)
    ok = await asyncio.to_thread(
        accounts.enable_totp, engine_of(request), who.id, inp.body.secret, inp.body.code, who.actor
    )
    if not ok:
        raise error(web.HTTPBadRequest, "wrong code; check the device's clock", "code")
    return web.Response(status=204)


async def totp_disable(request: web.Request, inp: Inputs[TotpCodeIn, None, None]) -> web.Response:
    who = _person(inp.staff)
    ok = await asyncio.to_thread(
        accounts.disable_totp, engine_of(request), who.id, who.actor, inp.body.code
    )
    if not ok:
        raise error(web.HTTPBadRequest, "wrong code: enter a current one from the app", "code")
    return web.Response(status=204)


async def setup_check(request: web.Request, inp: Inputs[SetupCheckIn, None, None]) -> web.Response:
    json_only(request)
    throttled(request, "unusable links")
    try:
        purpose = await asyncio.to_thread(accounts.link_purpose, engine_of(request), inp.body.token)
    except LinkError as err:
        failed(request)
        raise error(web.HTTPGone, str(err)) from None
    try:
        email = await asyncio.to_thread(accounts.link_email, engine_of(request), inp.body.token)
    except LinkError as err:  # used or expired a moment ago
        raise error(web.HTTPGone, str(err)) from None
    return json_response({"purpose": purpose, "email": email})


async def setup(request: web.Request, inp: Inputs[SetupIn, None, None]) -> web.Response:
    """Use a one-time link: create the first HR admin, or set a password after a reset. A
    person with two-factor on then signs in with their code: a link alone never does."""
    json_only(request)
    throttled(request, "unusable links")
    body, engine = inp.body, engine_of(request)
    try:
        purpose = await asyncio.to_thread(accounts.link_purpose, engine, body.token)
    except LinkError as err:
        failed(request)
        raise error(web.HTTPGone, str(err)) from None
    try:
        if purpose == "first_admin":
            if not body.email or not body.name:
                raise error(web.HTTPBadRequest, "email: the first admin's email and name", "email")
            account = await _call(
                accounts.create_first_admin,
                engine,
                body.token,
                body.email,
                body.name,
                body.password,
            )
        else:
            account = await _call(accounts.reset_with_link, engine, body.token, body.password)
    except LinkError as err:  # used meanwhile
        raise error(web.HTTPGone, str(err)) from None
    if account.totp_enabled:
        return json_response({"sign_in": True})
    return await signed_in(request, account, "setup")


# People and keys


async def roles(_request: web.Request, _inp: Inputs[None, None, None]) -> web.Response:
    return json_response(
        RolesOut(
            roles=[r.value for r in Role],
            actions={a.value: DESCRIPTIONS[a] for a in Action},
            grants={r.value: sorted(a.value for a in GRANTS[r]) for r in Role},
            scoped={r.value: sorted(s.value for s in SCOPED[r]) for r in SCOPED},
            key_scopes=sorted(a.value for a in KEY_SCOPES),
        ).model_dump(mode="json")
    )


async def list_users(request: web.Request, _inp: Inputs[None, None, None]) -> web.Response:
    rows = await asyncio.to_thread(accounts.list_accounts, engine_of(request))
    return json_response([user_view(a) for a in rows])


async def _reset_link(request: web.Request, account_id: str) -> str:
    token = await asyncio.to_thread(
        accounts.create_setup_link,
        engine_of(request),
        accounts.RESET,
        account_id,
        accounts.SETUP_LINK_TTL_S,
    )
    return setup_url(settings_of(request), token)


async def create_user(request: web.Request, inp: Inputs[UserIn, None, None]) -> web.Response:
    body, who = inp.body, inp.staff
    grants = _grants(body.roles)
    create = functools.partial(accounts.create_account, actor=who.actor)
    account = await _call(create, engine_of(request), body.email, body.name, grants)
    url = await _reset_link(request, account.id)
    return json_response({"user": user_view(account), "setup_url": url}, status=201)


async def change_user(request: web.Request, inp: Inputs[UserPatch, None, UserPath]) -> web.Response:
    body, who, engine, uid = inp.body, inp.staff, engine_of(request), inp.path.id
    if await asyncio.to_thread(accounts.get_account, engine, uid) is None:
        raise error(web.HTTPNotFound, "no such person")
    # The changes that can be refused (the last HR admin) first, the rename last.
    if body.disabled is not None:
        await _call(accounts.set_disabled, engine, uid, body.disabled, who.actor)
    if body.roles is not None:
        await _call(accounts.set_roles, engine, uid, _grants(body.roles), who.actor)
    if body.name is not None:
        await _call(accounts.rename, engine, uid, body.name, who.actor)
    account = await asyncio.to_thread(accounts.get_account, engine, uid)
    assert account is not None
    return json_response(user_view(account))


async def reset_user(request: web.Request, inp: Inputs[ResetIn, None, UserPath]) -> web.Response:
    """A one-time link to choose a new password: ends the person's sessions, clears a lockout
    and, when asked, removes their second factor (a lost phone)."""
    who, engine, uid = inp.staff, engine_of(request), inp.path.id
    if await asyncio.to_thread(accounts.get_account, engine, uid) is None:
        raise error(web.HTTPNotFound, "no such person")
    await asyncio.to_thread(accounts.end_all_sessions, engine, uid)
    await asyncio.to_thread(accounts.clear_lockout, engine, uid, who.actor)
    if inp.body is not None and inp.body.totp:
        await asyncio.to_thread(accounts.disable_totp, engine, uid, who.actor)
    return json_response({"setup_url": await _reset_link(request, uid)})


async def list_keys(request: web.Request, _inp: Inputs[None, None, None]) -> web.Response:
    rows = await asyncio.to_thread(accounts.list_api_keys, engine_of(request))
    return json_response([key_view(k) for k in rows])


async def create_key(request: web.Request, inp: Inputs[KeyIn, None, None]) -> web.Response:
    body, who = inp.body, inp.staff
    try:
        text, key = await asyncio.to_thread(
            accounts.create_api_key, engine_of(request), body.name, body.scopes, who.actor
        )
    except AccountError as err:
        raise error(web.HTTPBadRequest, str(err), "scopes") from None
    return json_response(key_view(key) | {"key": text}, status=201)


async def revoke_key(request: web.Request, inp: Inputs[None, None, KeyPath]) -> web.Response:
    try:
        key = await asyncio.to_thread(
            accounts.revoke_api_key, engine_of(request), inp.path.id, inp.staff.actor
        )
    except KeyError:
        raise error(web.HTTPNotFound, "no such key") from None
    return json_response(key_view(key))


async def audit_trail(request: web.Request, inp: Inputs[None, AuditQuery, None]) -> web.Response:
    q = inp.query
    rows = await asyncio.to_thread(audit.page, engine_of(request), q.after, q.limit, q.subject)
    out = [AuditOut.model_validate(r, from_attributes=True).model_dump(mode="json") for r in rows]
    return json_response(out)


async def live_link(request: web.Request, inp: Inputs[None, None, IdPath]) -> web.Response:
    """A viewer link for the live view of an interview this person may watch (the live view
    works with interviewer links). It lasts as long as an idle session, stops working when the
    account is disabled, rates only for interviewers (server.web.access) and is audited."""
    iv = await interview_or_404(request)
    who = inp.staff
    # A person's links share one token id, so their scorecard ratings stay one rater's.
    jti = f"{PERSON_LINK}{who.id}" if who.kind == "user" else None
    # As long as an unused session: the link is re-made from the list when needed.
    ttl = settings_of(request).session_idle_s
    token = request.app[AUTH_KEY].issue(iv.id, "interviewer", ttl, jti=jti)
    await asyncio.to_thread(
        audit.record, engine_of(request), who.actor, "live.link", f"interview:{iv.id}"
    )
    return json_response({"url": f"/live/{iv.id}#token={token}"})


SELF: Final = "self"
OPERATIONS: tuple[Operation[Any, Any, Any], ...] = (
    Operation(
        "POST",
        "/api/session",
        sign_in,
        "Sign in with email and password (and the TOTP code when two-factor is on)",
        (),
        {
            200: Reply("signed in; the session cookie is set", MeOut),
            401: "wrong email or password, or a code is needed or wrong (field: code)",
            403: "the account is disabled",
            415: "not application/json",
            429: "too many failures from this address, or the account is locked",
        },
        body=SignInIn,
    ),
    Operation(
        "DELETE",
        "/api/session",
        sign_out,
        "Sign out (ends this session)",
        STAFF,
        {204: Reply("signed out", json=False)},
        action=SELF,
    ),
    Operation(
        "POST",
        "/api/session/sign-out-everywhere",
        sign_out_everywhere,
        "End every session of the signed-in person",
        STAFF,
        {204: Reply("signed out everywhere", json=False), 400: "not a person"},
        action=SELF,
    ),
    Operation(
        "GET",
        "/api/me",
        me,
        "Who is calling: the person, key or operator, their roles and allowed actions",
        STAFF,
        {200: Reply("OK", MeOut)},
        action=SELF,
    ),
    Operation(
        "PUT",
        "/api/me/totp/begin",
        totp_begin,
        "A new TOTP secret and otpauth URI to add to an authenticator app (not active yet)",
        STAFF,
        {200: Reply("OK", TotpBeginOut), 400: "not a person", 409: "two-factor is on already"},
        action=SELF,
    ),
    Operation(
        "PUT",
        "/api/me/totp",
        totp_enable,
        "Turn two-factor on with the secret and a current code from the app",
        STAFF,
        {
            204: Reply("enabled", json=False),
            400: "wrong code, or not a person",
            409: "two-factor is on already",
        },
        body=TotpIn,
        action=SELF,
    ),
    Operation(
        "DELETE",
        "/api/me/totp",
        totp_disable,
        "Turn two-factor off, with a current code from the app",
        STAFF,
        {204: Reply("disabled", json=False), 400: "wrong code, or not a person"},
        body=TotpCodeIn,
        action=SELF,
    ),
    Operation(
        "POST",
        "/api/account/setup/check",
        setup_check,
        "What a one-time link is for (first admin or password reset)",
        (),
        {
            200: Reply("OK", SetupCheckOut),
            410: "the link was used or has expired",
            415: "not application/json",
            429: "slow down",
        },
        body=SetupCheckIn,
    ),
    Operation(
        "POST",
        "/api/account/setup",
        setup,
        "Use a one-time link: create the first HR admin, or choose a new password; signs in",
        (),
        {
            200: Reply("signed in; or, with two-factor on, sign in next", MeOut | SignInNext),
            409: "an HR admin exists already",
            410: "the link was used or has expired",
            415: "not application/json",
            429: "slow down",
        },
        body=SetupIn,
    ),
    Operation(
        "GET",
        "/api/roles",
        roles,
        "The roles, the actions and which role grants which (the access contract)",
        STAFF,
        {200: Reply("OK", RolesOut)},
        action=SELF,
    ),
    Operation(
        "GET",
        "/api/users",
        list_users,
        "People with access, their roles and status",
        STAFF,
        {200: Reply("OK", list[UserOut])},
        action=Action.USERS_MANAGE,
    ),
    Operation(
        "POST",
        "/api/users",
        create_user,
        "Add a person with roles; returns a one-time link for them to choose a password",
        STAFF,
        {201: Reply("added", UserCreated), 409: "the email is taken"},
        body=UserIn,
        action=Action.USERS_MANAGE,
    ),
    Operation(
        "PATCH",
        "/api/users/{id}",
        change_user,
        "Rename, change roles, disable or enable a person (disabling ends their sessions)",
        STAFF,
        {200: Reply("OK", UserOut), 409: "would leave no enabled HR admin"},
        body=UserPatch,
        params=UserPath,
        action=Action.USERS_MANAGE,
    ),
    Operation(
        "POST",
        "/api/users/{id}/reset",
        reset_user,
        "A one-time password link for a person; ends their sessions, clears a lockout",
        STAFF,
        {200: Reply("OK", SetupLinkOut)},
        body=ResetIn,
        body_required=False,
        params=UserPath,
        action=Action.USERS_MANAGE,
    ),
    Operation(
        "GET",
        "/api/keys",
        list_keys,
        "Integration API keys (never the keys themselves)",
        STAFF,
        {200: Reply("OK", list[KeyOut])},
        action=Action.KEYS_MANAGE,
    ),
    Operation(
        "POST",
        "/api/keys",
        create_key,
        "Create a named API key with scopes; the key is in this answer only",
        STAFF,
        {201: Reply("created", KeyCreated)},
        body=KeyIn,
        action=Action.KEYS_MANAGE,
    ),
    Operation(
        "DELETE",
        "/api/keys/{id}",
        revoke_key,
        "Revoke an API key (it stops working at once)",
        STAFF,
        {200: Reply("revoked", KeyOut)},
        params=KeyPath,
        action=Action.KEYS_MANAGE,
    ),
    Operation(
        "GET",
        "/api/audit",
        audit_trail,
        "The audit trail, oldest first after an id: who did what, when, with which session or key",
        STAFF,
        {200: Reply("OK", list[AuditOut])},
        query=AuditQuery,
        action=Action.AUDIT_READ,
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/live-link",
        live_link,
        "A live-view link for an interview the caller may watch",
        STAFF,
        {200: Reply("OK", LiveLinkOut), 404: "no such interview"},
        params=IdPath,
        action=Action.LIVE_WATCH,
        resource="interview",
    ),
)


def add_routes(app: web.Application) -> None:
    add(app, OPERATIONS)
