"""Small helpers every API module shares: JSON errors naming the field, bounded bodies refused
before parsing when too large or too deeply nested, standard JSON out, token checks."""

from __future__ import annotations

import asyncio
import json
import math
import re
from itertools import accumulate
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from hr_bridge import interviews as db
from server.app_keys import AUTH_KEY, RESOURCES_KEY, SETTINGS_KEY
from server.settings import Settings
from server.web.auth import AuthError, Claims, Expired, Role

# Request bodies nest far less than this (a profile is four levels); deeper is refused before
# parsing, so no parser recursion limit is ever reached.
JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NESTING_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _NESTING_STEP)


def error(
    status: type[web.HTTPException],
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.HTTPException:
    """A JSON refusal: {"error": message, "field": the offending field or null}."""
    return status(
        text=json.dumps({"error": message, "field": field}),
        content_type="application/json",
        headers=headers,
    )


def invalid(err: ValidationError, status: type[web.HTTPException]) -> web.HTTPException:
    """The first validation problem, naming its field ("body" when the JSON itself is bad)."""
    first = err.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(x) for x in first["loc"]) or "body"
    return error(status, f"{where}: {first['msg']}", where)


def too_large(limit: int, got: int) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=got,
        text=json.dumps(
            {"error": f"body of {got} bytes is larger than {limit} bytes", "field": "body"}
        ),
        content_type="application/json",
    )


def too_deep(raw: bytes, limit: int = JSON_DEPTH) -> bool:
    """Whether the JSON text nests arrays/objects deeper than `limit` (brackets inside strings
    do not count). C-speed loops only: a 1 MiB body takes a few milliseconds."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return bool(brackets) and max(accumulate(map(_NESTING_STEP.__getitem__, brackets))) > limit


async def read_raw(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, request.content_length)
    raw = await request.read()
    if len(raw) > limit:
        raise too_large(limit, len(raw))
    return raw


async def read_body(request: web.Request, model: type[BaseModel], limit: int = 64 * 1024) -> Any:
    raw = await read_raw(request, limit)
    if too_deep(raw):
        raise error(web.HTTPBadRequest, f"body: JSON nested deeper than {JSON_DEPTH}", "body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as err:
        raise invalid(err, web.HTTPBadRequest) from None


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Standard JSON only: NaN and ±Infinity (never valid JSON) are written as null."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def token_claims(request: web.Request, role: Role) -> Claims:
    try:
        return request.app[AUTH_KEY].verify(bearer(request), request.match_info["id"], role)
    except Expired as err:
        raise error(web.HTTPGone, str(err)) from None
    except AuthError as err:
        raise error(web.HTTPUnauthorized, str(err)) from None


def settings_of(request: web.Request) -> Settings:
    return request.app[SETTINGS_KEY]


def engine_of(request: web.Request) -> Engine:
    return request.app[RESOURCES_KEY].engine


async def interview_or_404(request: web.Request) -> db.Interview:
    iv = await asyncio.to_thread(db.get_interview, engine_of(request), request.match_info["id"])
    if iv is None:
        raise error(web.HTTPNotFound, "no such interview")
    return iv


# The `synthetic` filter of the store's list functions for each choice (None: both).
SYNTHETIC_FILTER: dict[str, bool | None] = {"real": False, "synthetic": True, "all": None}
