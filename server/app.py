"""The aiohttp application: pages, health endpoints, the API (its OpenAPI document generated
from the declared operations), signaling and live views."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from hr_bridge.db import migration_status, private_dir
from integrations.webhooks import WebhookWorker
from server import __version__
from server.app_keys import (
    AUTH_KEY,
    INTERVIEWS_KEY,
    MODELS_KEY,
    OIDC_KEY,
    RESOURCES_KEY,
    SETTINGS_KEY,
)
from server.interview_service import InterviewService, SharedModels
from server.model_hub import ModelHub
from server.resources import Resources, open_resources, webhook_config
from server.settings import Settings
from server.web import api, contract, hr_api, signaling, sso_api, staff_api
from server.web.auth import Auth
from server.web.oidc import OidcClient

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "web_client" / "static"
READY_TIMEOUT_S = 2.0
MAX_BODY_BYTES = 1 << 20  # 1 MiB; SDP and JSON bodies are far smaller
MAX_STATIC_PATH = 512  # our files' paths are short; the OS refuses long ones (ENAMETOOLONG)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process serves requests. Dependencies are /readyz's job."""
    return web.json_response({"status": "ok", "version": __version__})


async def _check_redis(res: Resources) -> dict[str, Any]:
    t0 = time.perf_counter()
    await asyncio.wait_for(res.redis.client.ping(), READY_TIMEOUT_S)
    return {"ok": True, "mode": res.redis.mode, "ms": round((time.perf_counter() - t0) * 1e3, 2)}


async def _check_database(res: Resources) -> dict[str, Any]:
    t0 = time.perf_counter()
    status = await asyncio.wait_for(
        asyncio.to_thread(migration_status, res.engine), READY_TIMEOUT_S
    )
    out: dict[str, Any] = {
        "ok": status.up_to_date,
        "backend": res.engine.url.get_backend_name(),
        "revision": status.current,
        "ms": round((time.perf_counter() - t0) * 1e3, 2),
    }
    if not status.up_to_date:
        out["error"] = f"schema at {status.current}, code expects {status.head}: run migrations"
    return out


async def readyz(request: web.Request) -> web.Response:
    """Readiness: Redis answers and the database is reachable with the current schema."""
    res = request.app[RESOURCES_KEY]
    checks: dict[str, dict[str, Any]] = {}
    for name, check in (("redis", _check_redis), ("database", _check_database)):
        try:
            checks[name] = await check(res)
        except (RedisError, SQLAlchemyError, OSError, TimeoutError) as err:
            checks[name] = {"ok": False, "error": type(err).__name__}
            log.warning("readiness: %s failed: %s", name, type(err).__name__)
    ready = all(c["ok"] for c in checks.values())
    # Load, not readiness: how busy the shared speech recognition is (partials stretched
    # under load, finals waiting), for operators and load balancers to read.
    hub = request.app.get(MODELS_KEY)
    asr = {name: asdict(load) for name, load in hub.load_now().items()} if hub else {}
    # ...and how much video the sessions' face analysis took: counters since the process
    # started (two readings' difference over the time and the live count is a rate).
    load: dict[str, Any] = {"live_interviews": 0, "asr": asr}
    if INTERVIEWS_KEY in request.app:
        registry = request.app[INTERVIEWS_KEY].live
        load["live_interviews"] = len(registry)
        load["video"] = asdict(registry.video_load())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks, "load": load},
        status=200 if ready else 503,
    )


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def page(name: str) -> Any:
    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name)

    return handler


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """API refusals raised outside our handlers (unknown route, wrong method, aiohttp's own body
    cap) are JSON too, like every other: {"error", "field": null}."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if (
            exc.status >= 400
            and request.path.startswith("/api/")
            and exc.content_type != "application/json"
        ):
            message = exc.text if exc.text and exc.content_type == "text/plain" else exc.reason
            exc.content_type = "application/json"
            exc.text = json.dumps({"error": message, "field": None})
        raise


@web.middleware
async def bounded_static(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/static/") and len(request.path) > MAX_STATIC_PATH:
        raise web.HTTPNotFound()
    response: web.StreamResponse = await handler(request)
    return response


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[security_headers, json_errors, bounded_static],
    )
    app[SETTINGS_KEY] = settings

    oidc = sso_api.oidc_config(settings)  # checked before anything starts

    async def resources_ctx(app: web.Application) -> AsyncIterator[None]:
        await asyncio.to_thread(private_dir, settings.data_dir)  # keys, database: owner only
        async with open_resources(settings) as res, aiohttp.ClientSession() as http:
            if oidc is not None:
                app[OIDC_KEY] = OidcClient(oidc, http)
            app[RESOURCES_KEY] = res
            app[AUTH_KEY] = await asyncio.to_thread(Auth, settings)
            worker = WebhookWorker(webhook_config(settings), res.engine)
            # One instance of each model for all interviews, loaded on a worker thread before
            # serving (server.model_hub); closed after the sessions that use it.
            hub = await asyncio.to_thread(ModelHub, settings)
            await asyncio.to_thread(hub.load)
            app[MODELS_KEY] = hub
            shared = await asyncio.to_thread(SharedModels.load, settings, hub)
            service = InterviewService(settings, res.engine, res.redis.client, shared)
            app[INTERVIEWS_KEY] = service
            try:
                await worker.start()  # also resumes deliveries left pending by a previous run
                await service.start()  # interviews a crash left live become interrupted
                yield
            finally:
                await service.aclose()
                await worker.aclose()
                await hub.aclose()

    app.cleanup_ctx.append(resources_ctx)
    api.add_routes(app)
    signaling.add_routes(app)
    hr_api.add_routes(app)
    staff_api.add_routes(app)
    sso_api.add_routes(app)
    # Generated from the operations just registered: the contract the server enforces.
    app.router.add_get("/api/openapi.json", contract.openapi_handler(app, __version__))
    app.router.add_get("/interview/{id}", page("candidate.html"))
    app.router.add_get("/offer/{id}", page("offer.html"))  # the job offer on its own page
    app.router.add_get("/live/{id}", page("live.html"))
    app.router.add_get("/report/{id}", page("report.html"))  # the interviewer's, by their link
    app.router.add_get("/hr", page("hr.html"))
    app.router.add_get("/hr/requisitions", page("hr-requisitions.html"))
    app.router.add_get("/hr/employees", page("hr-employees.html"))
    app.router.add_get("/hr/analytics", page("hr-analytics.html"))
    app.router.add_get("/hr/users", page("hr-users.html"))  # people and API keys
    app.router.add_get("/hr/mine", page("hr-mine.html"))  # an interviewer's own interviews
    app.router.add_get("/signin", page("signin.html"))
    app.router.add_get("/account/setup", page("account-setup.html"))  # one-time links
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", page("favicon.ico"))  # browsers ask every page for it
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app
