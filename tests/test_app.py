from __future__ import annotations

import asyncio
import gc
import os
import stat
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hr_bridge.db import head_revision
from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.cli.serve import freeze_startup_objects, make_runner
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
        await asyncio.to_thread(res.redis.embedded.stop)  # blocking: stops the process
        assert pid is not None and await asyncio.to_thread(wait_gone, pid)
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
    app = create_app(make_settings())

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app.router.add_post("/echo", echo)
    async with TestClient(TestServer(app)) as client:
        r = await client.post("/echo", data=b"x" * (2 << 20))
        assert r.status == 413


async def test_store_files_are_private_whatever_the_umask(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    old = data / "hirestream.db-wal"
    old.write_bytes(b"")
    old.chmod(0o644)  # left by an earlier version
    mask = os.umask(0)  # the most permissive: modes must not come from the umask
    try:
        app = create_app(make_settings(data_dir=data))
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/readyz")).status == 200
            mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
    finally:
        os.umask(mask)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("hirestream.db", "hirestream.db-wal", "hirestream.db-shm"):
        assert mode[name] == 0o600, (name, oct(mode[name]))
    assert mode["admin.key"] == mode["secret.key"] == 0o600


async def test_long_static_paths_are_not_found(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/static/" + "a" * 5000)).status == 404
        assert (await client.get("/static/" + "a/" * 400 + "x.js")).status == 404
        assert (await client.get("/static/common.js")).status == 200
        assert (await client.get("/healthz")).status == 200


async def test_a_client_trickling_headers_is_disconnected(
    make_settings: Callable[..., Settings],
) -> None:
    """Measured on a real socket: one header line every 0.2 s never completes a request; the
    server closes the connection about header_timeout_s after it opened."""
    settings = make_settings(header_timeout_s=1.0)
    runner = make_runner(create_app(settings), settings)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        loop = asyncio.get_running_loop()
        start, closed_after = loop.time(), None
        for i in range(100):  # up to 20 s of trickling
            try:
                writer.write(f"X-Slow-{i}: y\r\n".encode())
                await writer.drain()
            except ConnectionError:
                closed_after = loop.time() - start
                break
            try:
                if await asyncio.wait_for(reader.read(1), 0.2) == b"":
                    closed_after = loop.time() - start
                    break
            except TimeoutError:
                continue
        writer.close()
        assert closed_after is not None, "still connected after 20 s of trickled headers"
        assert closed_after < 10
        # A normal request on a fresh connection is served.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 200")
        writer.close()
    finally:
        await runner.cleanup()


def test_startup_objects_are_left_out_of_full_collections() -> None:
    """What is alive when serving starts (modules, models) is not scanned by every full
    collection again; garbage made before is collected first, not frozen with it."""

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    garbage = weakref.ref(Cycle())  # unreachable: only a collection frees it
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000
        assert garbage() is None
    finally:
        gc.unfreeze()
