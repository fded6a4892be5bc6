"""Small helpers every API module shares: JSON errors, bounded validated bodies, auth checks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from hr_bridge import interviews as db
from hr_bridge.analytics import DataChoice
from server.app_keys import AUTH_KEY, RESOURCES_KEY, SETTINGS_KEY
from server.auth import AuthError, Claims, Expired, Role
from server.settings import Settings


def error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=json.dumps({"error": message}), content_type="application/json")


def too_large(limit: int, got: int) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=got,
        text=json.dumps({"error": f"body of {got} bytes is larger than {limit} bytes"}),
        content_type="application/json",
    )


async def read_body(request: web.Request, model: type[BaseModel], limit: int = 64 * 1024) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, request.content_length)
    raw = await request.read()
    if len(raw) > limit:
        raise too_large(limit, len(raw))
    try:
        return model.model_validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise error(web.HTTPBadRequest, f"{where}: {first['msg']}") from None


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


def require_admin(request: web.Request) -> None:
    try:
        request.app[AUTH_KEY].check_admin(request.headers.get("Authorization"))
    except AuthError as err:
        raise error(web.HTTPUnauthorized, str(err)) from None


def admin_or(request: web.Request, role: Role) -> None:
    """Admin key, or else a token of `role` for this interview."""
    try:
        request.app[AUTH_KEY].check_admin(request.headers.get("Authorization"))
    except AuthError:
        token_claims(request, role)


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


def data_choice(request: web.Request) -> DataChoice:
    """?data=real|synthetic|all (default real): which population a list or analysis covers."""
    value = request.query.get("data", "real")
    if value not in SYNTHETIC_FILTER:
        raise error(web.HTTPBadRequest, "data: real, synthetic or all")
    return value  # type: ignore[return-value]
