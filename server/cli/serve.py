"""`hirestream serve`: run the app until SIGINT/SIGTERM, releasing everything on the way out."""

from __future__ import annotations

import asyncio
import gc
import signal
import ssl
import sys

from aiohttp import web

from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.cli.users import first_run_message
from server.errors import ConfigError
from server.resources import locate_models
from server.settings import Settings


def make_runner(app: web.Application, settings: Settings) -> web.AppRunner:
    """aiohttp has no header read timeout of its own; its keep-alive timer covers it: it runs
    from the connection's start (and from each response) until a complete request has arrived,
    and closes a connection still waiting for one. So a client that trickles headers, or idles
    between requests, is cut off after `header_timeout_s`; a request being handled (a long
    upload, a WebSocket) is not."""
    return web.AppRunner(app, handle_signals=False, keepalive_timeout=settings.header_timeout_s)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """HTTPS straight from the server (browsers allow camera and microphone only on HTTPS
    pages, or on localhost). Blocking: reads the files."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(
            f"cannot use the TLS certificate {settings.tls_cert_file} with key "
            f"{settings.tls_key_file}: {err}"
        ) from None
    return ctx


def freeze_startup_objects() -> None:
    """Leave what startup made (modules, models: ~270k objects) out of the garbage collector's
    full collections. Each one scanned it all, holding the GIL for 100-250 ms: 11 such stalls
    in the 100 s bench.live ran 8 interviews, every stream's audio, video and captions held up
    meanwhile. Objects made later are collected as before. Once per process: frozen objects
    are never collected, so not for a process that builds apps again and again (tests)."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> None:
    # Fail fast on missing or altered models before binding a port or starting Redis.
    await asyncio.to_thread(locate_models, settings)
    app = create_app(settings)
    runner = make_runner(app, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()  # runs the cleanup contexts' start: models, database, Redis
        freeze_startup_objects()
        tls = await asyncio.to_thread(tls_context, settings)
        site = web.TCPSite(
            runner, settings.host, settings.port, shutdown_timeout=5.0, ssl_context=tls
        )
        try:
            await site.start()
        except OSError as err:
            raise ConfigError(
                f"cannot listen on {settings.host}:{settings.port} ({err.strerror}); "
                "set HIRESTREAM_PORT to a free port"
            ) from None
        res = app[RESOURCES_KEY]
        port = runner.addresses[0][1] if runner.addresses else settings.port
        scheme = "http" if tls is None else "https"
        url = settings.public_url or f"{scheme}://{settings.host}:{port}"
        print(
            f"hirestream is running at {url.rstrip('/')}/  "
            f"(Redis: {res.redis.mode}, database: {res.database_display_url}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        # stdout, not the log: the link is a credential and log files are kept and shipped.
        first_run = await asyncio.to_thread(first_run_message, res.engine, url.rstrip("/"))
        if first_run is not None:
            print(first_run, flush=True)
        await stop.wait()
        print("hirestream: stopping", file=sys.stderr, flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()  # stops the site, then Redis and the database, in reverse
