"""Who is calling, and may they do this: the one place where staff access is decided.

Staff credentials, in the order they are tried:
- `Authorization: Bearer hsk_...`: a named integration key, allowed exactly its scopes;
- `Authorization: Bearer <admin key>`: the operator's bootstrap key, allowed everything, and
  refused once `HIRESTREAM_ADMIN_KEY_ENABLED=false`;
- without an Authorization header, a session cookie (`hs_session`) from signing in (password
  or single sign-on); writes made with it must carry the session's CSRF token in
  `X-CSRF-Token`.

A signed-in person's live-view link (an interviewer token whose id names the account, made by
/api/interviews/{id}/live-link) stops working when the account is disabled, and rates on the
scorecard only while the person is an interviewer of that interview.

What each role may do is hr_bridge.roles (the contract). A scoped grant (a hiring manager's
requisitions, an interviewer's interviews or requisitions) allows an action on an operation
whose path names one of those; list operations are allowed to anyone holding the action and
filter their rows with `Principal.sees_requisition` / `sees_interview`.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from hr_bridge import accounts
from hr_bridge import interviews as db
from hr_bridge.accounts import KEY_PREFIX, AccountView, ApiKeyView, RoleGrant, SessionView
from hr_bridge.roles import GRANTS, SCOPED, Action, Role
from server.app_keys import AUTH_KEY, RESOURCES_KEY, SETTINGS_KEY
from server.web.auth import AuthError, Claims
from server.web.util import bearer, error

SESSION_COOKIE = "hs_session"
CSRF_HEADER = "X-CSRF-Token"
PERSON_LINK = "user-"  # the token id prefix of a signed-in person's live-view links
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Resource = Literal["requisition", "interview"]


@dataclass(frozen=True)
class Principal:
    """A signed-in person, an integration key or the operator's key."""

    kind: Literal["user", "api_key", "operator"]
    id: str
    name: str
    via: str  # "session:1a2b3c4d", "key:<id>", "admin key"
    email: str | None = None
    grants: tuple[RoleGrant, ...] = ()
    scopes: frozenset[Action] = frozenset()  # keys: their scopes; the operator: every action
    session: SessionView | None = None

    @property
    def actor(self) -> str:
        """Who did it, for the audit trail and decision records: the person or key, and how."""
        if self.kind == "user":
            return f"{self.name} <{self.email}> via {self.via}"
        if self.kind == "api_key":
            return f"API key '{self.name}' ({self.via})"
        return "operator (admin key)"

    def _granting(self, action: Action) -> list[RoleGrant]:
        return [g for g in self.grants if action in GRANTS[g.role]]

    def may(self, action: Action) -> bool:
        """Holds the action anywhere (for a scoped role: on at least one of its scopes)."""
        return action in self.scopes or bool(self._granting(action))

    def everywhere(self, action: Action) -> bool:
        """Holds the action across the organisation, not only on assigned records."""
        return action in self.scopes or any(g.role not in SCOPED for g in self._granting(action))

    def requisitions(self, action: Action) -> frozenset[str]:
        return frozenset(g.requisition_id for g in self._granting(action) if g.requisition_id)

    def interviews(self, action: Action) -> frozenset[str]:
        return frozenset(g.interview_id for g in self._granting(action) if g.interview_id)

    def sees_requisition(self, action: Action, requisition_id: str) -> bool:
        return self.everywhere(action) or requisition_id in self.requisitions(action)

    def sees_interview(self, action: Action, interview_id: str, requisition_id: str) -> bool:
        return (
            self.everywhere(action)
            or interview_id in self.interviews(action)
            or requisition_id in self.requisitions(action)
        )

    def assigned(self, action: Action) -> db.Assigned | None:
        """None when the action holds everywhere; else the records it holds on (for lists)."""
        if self.everywhere(action):
            return None
        return db.Assigned(self.interviews(action), self.requisitions(action))

    def actions(self) -> list[Action]:
        return [a for a in Action if self.may(a)]


OPERATOR = Principal("operator", "operator", "operator", "admin key", scopes=frozenset(Action))


def user_principal(account: AccountView, session: SessionView) -> Principal:
    return Principal(
        "user",
        account.id,
        account.name,
        session.ref,
        email=account.email,
        grants=account.roles,
        session=session,
    )


def key_principal(key: ApiKeyView) -> Principal:
    return Principal("api_key", key.id, key.name, f"key:{key.id}", scopes=frozenset(key.scopes))


@dataclass
class Denied:
    """Why staff credentials were not accepted (401), kept to explain the refusal."""

    reasons: list[str] = field(default_factory=list)


async def staff(request: web.Request, denied: Denied) -> Principal | None:
    """The staff principal behind the request's credentials, or None (reasons in `denied`).
    A cookie session's write without its CSRF token is refused here (403)."""
    engine = request.app[RESOURCES_KEY].engine
    settings = request.app[SETTINGS_KEY]
    token = bearer(request)
    if token is not None and token.startswith(KEY_PREFIX):
        key = await asyncio.to_thread(accounts.check_api_key, engine, token)
        if key is None:
            denied.reasons.append("unknown or revoked API key")
            return None
        return key_principal(key)
    if token is not None:
        if hmac.compare_digest(token, request.app[AUTH_KEY].admin_key):
            if not settings.admin_key_enabled:
                denied.reasons.append(
                    "the admin key is disabled (HIRESTREAM_ADMIN_KEY_ENABLED=false): sign in, "
                    "or use a named API key"
                )
                return None
            return OPERATOR
        denied.reasons.append("wrong API key")
        return None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        denied.reasons.append("sign in, or send 'Authorization: Bearer <API key>'")
        return None
    found = await asyncio.to_thread(
        accounts.resume_session, engine, cookie, settings.session_idle_s
    )
    if found is None:
        denied.reasons.append("your session has ended: sign in again")
        return None
    session, account = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, session.csrf):
            raise error(web.HTTPForbidden, f"missing or wrong {CSRF_HEADER} for this session")
    return user_principal(account, session)


async def permit(
    request: web.Request,
    principal: Principal,
    action: Action,
    resource: Resource | None,
) -> None:
    """403 unless `principal` may do `action` on the record the path's {id} names."""
    if not principal.may(action):
        raise error(web.HTTPForbidden, f"your access does not include {action.value}")
    if resource is None or principal.everywhere(action):
        return
    rid = request.match_info.get("id", "")
    if resource == "requisition" and rid in principal.requisitions(action):
        return
    if resource == "interview":
        if rid in principal.interviews(action):
            return
        engine = request.app[RESOURCES_KEY].engine
        iv = await asyncio.to_thread(db.get_interview, engine, rid)
        if iv is not None and iv.requisition_id in principal.requisitions(action):
            return
    raise error(web.HTTPForbidden, f"{action.value}: not one of the records assigned to you")


def grant_labels(grants: Iterable[RoleGrant]) -> list[str]:
    return [g.label() for g in grants]


@dataclass(frozen=True)
class Person:
    """Whom a decision, offer or review is recorded under (`name`, shown on the records) and
    how the call came (`via`, kept in the audit trail)."""

    name: str
    via: str


def person(principal: Principal, typed: str | None, field_name: str) -> Person:
    """A signed-in person is themselves (a typed name is ignored); a key is not a person, so
    its caller names one, and the audit trail says which key brought it."""
    if principal.kind == "user":
        return Person(f"{principal.name} <{principal.email}>"[:200], principal.via)
    if typed is None or not typed.strip():
        raise error(
            web.HTTPBadRequest,
            f"{field_name}: name the person responsible (an API key is not a person)",
            field_name,
        )
    return Person(typed.strip(), principal.actor)


def throttled(request: web.Request, what: str = "bad credentials") -> None:
    """429 while this address is over its limit of failed credentials."""
    wait = request.app[AUTH_KEY].throttle.retry_after(request.remote or "unknown")
    if wait > 0:
        raise error(
            web.HTTPTooManyRequests,
            f"too many {what} from this address; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


def failed(request: web.Request) -> None:
    """Count a failed credential against this address."""
    request.app[AUTH_KEY].throttle.failed(request.remote or "unknown")


def has_credentials(request: web.Request) -> bool:
    """Whether the request carries any credential at all: a page asking "who am I?" while
    signed out is not a guess, and must not lock the address out of signing in."""
    return "Authorization" in request.headers or SESSION_COOKIE in request.cookies


async def person_link(request: web.Request, claims: Claims) -> AccountView | None:
    """The account behind a person's live-view link (None for other links); 401 once the
    account is disabled or gone."""
    if not claims.jti.startswith(PERSON_LINK):
        return None
    engine = request.app[RESOURCES_KEY].engine
    found = await asyncio.to_thread(accounts.get_account, engine, claims.jti[len(PERSON_LINK) :])
    if found is None or found.disabled:
        raise AuthError("this link's account is disabled")
    return found


async def rater_account(request: web.Request, claims: Claims) -> AccountView:
    """The account rating through its live-view link: 403 unless it is an interviewer of
    this interview (hiring managers and recruiters watch, interviewers rate)."""
    found = await person_link(request, claims)
    assert found is not None  # callers check the prefix
    engine = request.app[RESOURCES_KEY].engine
    iv = await asyncio.to_thread(db.get_interview, engine, claims.interview)
    for grant in found.roles:
        if grant.role != Role.INTERVIEWER or iv is None:
            continue
        if grant.interview_id == iv.id or grant.requisition_id == iv.requisition_id:
            return found
    raise error(web.HTTPForbidden, "only this interview's interviewers rate it")
