"""`hirestream serve`: run the app until SIGINT/SIGTERM, releasing everything on the way out."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.errors import ConfigError
from server.resources import locate_models
from server.settings import Settings


async def serve(settings: Settings) -> None:
    # Fail fast on missing or altered models before binding a port or starting Redis.
    await asyncio.to_thread(locate_models, settings)
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()  # runs the cleanup contexts' start: models, database, Redis
        site = web.TCPSite(runner, settings.host, settings.port, shutdown_timeout=5.0)
        try:
            await site.start()
        except OSError as err:
            raise ConfigError(
                f"cannot listen on {settings.host}:{settings.port} ({err.strerror}); "
                "set HIRESTREAM_PORT to a free port"
            ) from None
        res = app[RESOURCES_KEY]
        port = runner.addresses[0][1] if runner.addresses else settings.port
        url = settings.public_url or f"http://{settings.host}:{port}"
        print(
            f"hirestream is running at {url.rstrip('/')}/  "
            f"(Redis: {res.redis.mode}, database: {res.database_display_url}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
        print("hirestream: stopping", file=sys.stderr, flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()  # stops the site, then Redis and the database, in reverse
