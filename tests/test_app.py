from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hr_bridge.db import head_revision
from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.errors import ConfigError
from server.settings import Settings
from tests.procs import wait_gone


async def test_health_ready_and_page_on_embedded_redis_and_sqlite(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as client:
        res = app[RESOURCES_KEY]
        assert res.redis.mode == "embedded"
        assert res.engine.url.get_backend_name() == "sqlite"

        r = await client.get("/healthz")
        assert r.status == 200 and (await r.json())["status"] == "ok"
        r = await client.get("/readyz")
        body = await r.json()
        assert r.status == 200, body
        assert body["checks"]["redis"]["mode"] == "embedded"
        assert body["checks"]["database"]["revision"] == head_revision()
        assert r.headers["X-Content-Type-Options"] == "nosniff"

        r = await client.get("/")
        assert r.status == 200 and "hirestream" in await r.text()
        r = await client.get("/static/../../pyproject.toml")
        assert r.status in (403, 404)

        # Redis gone: not ready, but alive, and it says which dependency failed.
        assert res.redis.embedded is not None
        pid = res.redis.embedded.pid
        res.redis.embedded.stop()
        assert pid is not None and wait_gone(pid)
        r = await client.get("/readyz")
        body = await r.json()
        assert r.status == 503
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        assert (await client.get("/healthz")).status == 200


async def test_ready_on_external_redis_and_postgres(
    make_settings: Callable[..., Settings], external_redis_url: str, postgres_url: str
) -> None:
    app = create_app(make_settings(redis_url=external_redis_url, database_url=postgres_url))
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/readyz")
        body = await r.json()
        assert r.status == 200, body
        assert body["checks"]["redis"]["mode"] == "external"
        assert body["checks"]["database"]["backend"] == "postgresql"


async def test_startup_with_unreachable_redis_fails_and_cleans_up(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(redis_url="redis://127.0.0.1:1/0"))
    with pytest.raises(ConfigError, match="cannot reach Redis"):
        async with TestClient(TestServer(app)):
            pass


async def test_oversize_body_is_refused(make_settings: Callable[..., Settings]) -> None:
    from aiohttp import web

    app = create_app(make_settings())

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app.router.add_post("/echo", echo)
    async with TestClient(TestServer(app)) as client:
        r = await client.post("/echo", data=b"x" * (2 << 20))
        assert r.status == 413
