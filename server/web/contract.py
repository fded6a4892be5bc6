"""The HTTP contract, declared once per operation: who may call it, its path, query and body
models and its responses. The server validates with exactly these declarations and the
OpenAPI 3.1 document at /api/openapi.json is generated from them.

A small registry rather than aiohttp-pydantic: that library wants one class-based view per
path with a method per verb and reads responses from return annotations; this keeps plain
function handlers, the auth schemes and the JSON error shape ({"error", "field"}) the pages
rely on, and the statuses the server itself adds (400, 401, 404, 413, 429) are documented by
the same code that produces them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from hr_bridge.roles import Action
from server.app_keys import AUTH_KEY
from server.web.access import (
    Denied,
    Principal,
    Resource,
    failed,
    has_credentials,
    permit,
    person_link,
    staff,
    throttled,
)
from server.web.auth import AuthError, Claims, Expired, Role
from server.web.schemas import ErrorOut
from server.web.util import JSON_DEPTH, bearer, error, invalid, read_raw, too_deep

# "staff": a signed-in person, an integration key or the operator key, each allowed what the
# operation's `action` needs (server.web.access); the others: an interview's link token.
Scheme = Literal["staff", "candidate", "interviewer"]
B = TypeVar("B")
Q = TypeVar("Q")
P = TypeVar("P")


@dataclass(frozen=True)
class Reply:
    """A success response: its JSON body type (a model or any annotation; None: no schema),
    or other media types whose bodies are strings (text/html, text/csv, image/svg+xml)."""

    description: str
    model: Any = None
    media: tuple[str, ...] = ()
    json: bool = True


@dataclass(frozen=True)
class Inputs(Generic[B, Q, P]):
    """What a handler gets, validated: the body, query and path models, and who calls: the
    link token's claims, or the staff principal (at most one of them; neither for public
    operations)."""

    body: B
    query: Q
    path: P
    claims: Claims | None
    principal: Principal | None = None

    @property
    def staff(self) -> Principal:
        """The staff principal of an operation that only staff may call."""
        if self.principal is None:
            raise error(web.HTTPUnauthorized, "this call needs staff credentials")
        return self.principal

    @property
    def token(self) -> Claims:
        """The claims of an operation that only takes a token."""
        if self.claims is None:
            raise error(web.HTTPUnauthorized, "this call needs a token for this interview")
        return self.claims


Handler = Callable[[web.Request, Inputs[B, Q, P]], Awaitable[web.StreamResponse]]
RawHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Operation(Generic[B, Q, P]):
    """One API operation. `responses` lists what the handler answers itself (status -> a Reply
    or, for errors, a description); the checks done here add theirs (see `statuses`). Staff
    operations name the `action` they need and, when their path's {id} is a requisition or an
    interview, that `resource` (scoped roles reach only their assigned records)."""

    method: str
    path: str
    handler: Handler[B, Q, P]
    summary: str
    security: tuple[Scheme, ...]
    responses: Mapping[int, Reply | str]
    body: Any = None  # a model or annotation for the JSON body; None: no body
    query: type[Q] | None = None
    params: type[P] | None = None
    body_limit: int = 64 * 1024
    body_required: bool = True
    description: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. a WebSocket's 101
    action: Action | Literal["self"] | None = None  # "self": any staff, on their own account
    resource: Resource | None = None

    def __post_init__(self) -> None:
        if ("staff" in self.security) != (self.action is not None):
            raise ValueError(f"{self.method} {self.path}: staff operations name their action")

    @functools.cached_property
    def _body_adapter(self) -> TypeAdapter[Any] | None:
        return None if self.body is None else TypeAdapter(self.body)

    def statuses(self) -> dict[int, str]:
        """Every status this operation can answer, with its description."""
        out: dict[int, str] = {}
        for status, reply in self.responses.items():
            out[status] = reply.description if isinstance(reply, Reply) else reply
        if self.body is not None or self.query is not None:
            out.setdefault(400, "invalid parameter or body (the field is named)")
        if self.body is not None:
            out.setdefault(413, "body too large")
        if self.params is not None:
            out.setdefault(404, "no such record")
        if self.security:
            out.setdefault(401, "missing or wrong credentials")
            out.setdefault(429, "too many bad credentials from this address; see Retry-After")
        if "staff" in self.security:
            denied = (
                "" if self.action == "self" else f"your access does not include {self.action}, or "
            )
            out.setdefault(403, denied + "a signed-in write without the session's X-CSRF-Token")
        if any(s != "staff" for s in self.security):
            out.setdefault(410, "the link has expired")
        return dict(sorted(out.items()))

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler: credentials, then path, query and body, then the handler."""
        principal, claims = await authorize(request, self)
        path = _parse(self.params, dict(request.match_info), web.HTTPNotFound)
        query = _parse(self.query, dict(request.query), web.HTTPBadRequest)
        body = None
        if self._body_adapter is not None:
            raw = await read_raw(request, self.body_limit)
            if raw or self.body_required:
                body = _body(self._body_adapter, raw)
        inputs = Inputs(body, query, path, claims, principal)
        return await self.handler(request, inputs)  # type: ignore[arg-type]


async def authorize(
    request: web.Request, op: Operation[Any, Any, Any]
) -> tuple[Principal | None, Claims | None]:
    """Staff credentials allowed the operation's action, or else a link token of one of its
    roles for the interview in the path. Bad credentials count against the client's address
    (429 beyond the limit); good credentials without the access get 403."""
    if not op.security:
        return None, None
    auth = request.app[AUTH_KEY]
    throttled(request)
    denied = Denied()
    if "staff" in op.security:
        principal = await staff(request, denied)
        if principal is not None:
            if op.action != "self":
                assert op.action is not None  # __post_init__
                await permit(request, principal, op.action, op.resource)
            return principal, None
    roles: list[Role] = [s for s in op.security if s != "staff"]
    for role in roles:
        try:
            claims = auth.verify(bearer(request), request.match_info.get("id", ""), role)
            await person_link(request, claims)
            return None, claims
        except Expired as err:
            raise error(web.HTTPGone, str(err)) from None
        except AuthError as err:
            denied.reasons.append(str(err))
    if has_credentials(request):
        failed(request)
    # The last reason: a link token's when the operation takes one, else how staff sign in.
    raise error(web.HTTPUnauthorized, denied.reasons[-1] if denied.reasons else "no credentials")


def _parse(model: type[Any] | None, data: dict[str, str], status: type[web.HTTPException]) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise invalid(err, status) from None


def _body(adapter: TypeAdapter[Any], raw: bytes) -> Any:
    if too_deep(raw, JSON_DEPTH):
        raise error(web.HTTPBadRequest, f"body: JSON nested deeper than {JSON_DEPTH}", "body")
    try:
        return adapter.validate_json(raw)
    except ValidationError as err:
        raise invalid(err, web.HTTPBadRequest) from None


def add(app: web.Application, ops: Iterable[Operation[Any, Any, Any]]) -> None:
    """Register operations on the app's router (the contract is read back from there)."""
    for op in ops:
        if op.method == "GET":  # with HEAD, as aiohttp's add_get does
            app.router.add_get(op.path, op.serve)
        else:
            app.router.add_route(op.method, op.path, op.serve)


def operations(app: web.Application) -> list[Operation[Any, Any, Any]]:
    found = (
        getattr(route.handler, "__self__", None)
        for route in app.router.routes()
        if route.method != "HEAD"
    )
    return [op for op in found if isinstance(op, Operation)]


# The document


REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "staff": {
        "type": "http",
        "scheme": "bearer",
        "description": "A named API key (hsk_...) or the operator's admin key; a signed-in "
        "person's session cookie (hs_session, with X-CSRF-Token on writes) works too",
    },
    "candidate": {"type": "http", "scheme": "bearer", "description": "invite token"},
    "interviewer": {"type": "http", "scheme": "bearer", "description": "viewer token"},
}
STRING = {"type": "string"}


def _no_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: drop the null branch of optionals."""
    branches = schema.get("anyOf")
    if branches and any(b.get("type") == "null" for b in branches):
        rest = [b for b in branches if b.get("type") != "null"]
        out = {k: v for k, v in schema.items() if k != "anyOf"}
        return out | rest[0] if len(rest) == 1 else out | {"anyOf": rest}
    return schema


def _parameters(
    model: type[BaseModel] | None, where: str, schemas: dict[Any, Any], defs: dict[str, Any]
) -> list[dict[str, Any]]:
    """A path or query model's fields, each one parameter (its schema inlined)."""
    if model is None:
        return []
    full = schemas[(model, "validation")]
    if "$ref" in full:
        full = defs[full["$ref"].rsplit("/", 1)[1]]
    required = set(full.get("required", ()))
    return [
        {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": _no_null(prop),
        }
        for name, prop in full["properties"].items()
    ]


def document(ops: Iterable[Operation[Any, Any, Any]], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `ops`; shared models go to components/schemas."""
    ops = sorted(ops, key=lambda o: (o.path, o.method))
    inputs: list[tuple[Any, Literal["validation", "serialization"], TypeAdapter[Any]]] = [
        ((ErrorOut, "serialization"), "serialization", TypeAdapter(ErrorOut))
    ]
    for op in ops:
        for model in (op.query, op.params):
            if model is not None:
                inputs.append(((model, "validation"), "validation", TypeAdapter(model)))
        if op.body is not None:
            inputs.append(((op.body, "validation"), "validation", TypeAdapter(op.body)))
        for reply in op.responses.values():
            if isinstance(reply, Reply) and reply.model is not None:
                key = (reply.model, "serialization")
                inputs.append((key, "serialization", TypeAdapter(reply.model)))
    unique = list({repr(key): (key, mode, ta) for key, mode, ta in inputs}.values())
    found, root = TypeAdapter.json_schemas(unique, ref_template=REF)
    defs: dict[str, Any] = root.get("$defs", {})
    schemas = {key: schema for (key, _mode), schema in found.items()}
    error_content = {"application/json": {"schema": schemas[(ErrorOut, "serialization")]}}
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {}
        for status, text in op.statuses().items():
            declared = op.responses.get(status)
            if isinstance(declared, Reply):
                content: dict[str, Any] = {}
                if declared.json:
                    schema = (
                        {} if declared.model is None else schemas[(declared.model, "serialization")]
                    )
                    content["application/json"] = {"schema": schema}
                for media in declared.media:
                    content[media] = {"schema": STRING}
                responses[str(status)] = {"description": text} | (
                    {"content": content} if content else {}
                )
            else:
                responses[str(status)] = {"description": text, "content": error_content}
        item: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", op.path),
            "security": [{s: []} for s in op.security],
            "parameters": _parameters(op.params, "path", schemas, defs)
            + _parameters(op.query, "query", schemas, defs),
            "responses": responses,
        } | dict(op.extra)
        if op.description:
            item["description"] = op.description
        if op.body is not None:
            item["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": schemas[(op.body, "validation")]}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "hirestream", "version": version},
        "paths": paths,
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": defs},
    }


def openapi_handler(app: web.Application, version: str) -> RawHandler:
    """GET /api/openapi.json: the document for the app's registered operations, built once."""

    @functools.cache
    def built() -> str:
        return json.dumps(document(operations(app), version))

    async def handler(_request: web.Request) -> web.Response:
        # Building it takes pydantic a few hundred ms once: off the event loop.
        return web.Response(text=await asyncio.to_thread(built), content_type="application/json")

    return handler


def plain(handler: RawHandler) -> Handler[Any, Any, Any]:
    """A handler that reads its own request (with the same models declared for it)."""

    @functools.wraps(handler)
    async def call(request: web.Request, _inp: Inputs[Any, Any, Any]) -> web.StreamResponse:
        return await handler(request)

    return call
