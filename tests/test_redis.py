from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from server.errors import ConfigError
from server.redis_conn import open_redis, redact_url
from server.redis_embedded import EmbeddedRedis
from server.settings import Settings
from tests.procs import alive, pids_matching, wait_gone


def test_embedded_starts_answers_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    server.start()
    pid, sock = server.pid, server.socket_path
    assert pid is not None and sock is not None and sock.exists()
    assert (sock.stat().st_mode & 0o777) == 0o700  # only our user may connect
    client = redis.Redis.from_url(server.url)
    assert client.set("k", "v") and client.get("k") == b"v"
    client.close()
    assert (tmp_path / "redis" / "redis.log").exists()  # its files live in the data dir
    server.stop()
    assert wait_gone(pid)
    assert not sock.exists()
    assert pids_matching(str(sock)) == []


def test_deep_data_dir_uses_a_private_socket_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with EmbeddedRedis(deep) as server:
        assert server.socket_path is not None
        assert len(str(server.socket_path)) < 108
        sock_dir = server.socket_path.parent
        assert redis.Redis.from_url(server.url).ping()
    assert not sock_dir.exists()


def test_broken_binary_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL: broken build' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(ConfigError, match="exited with code 3"):
        EmbeddedRedis(tmp_path / "data", binary=fake).start()


def test_embedded_dies_with_its_parent_even_on_sigkill_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    code = (
        "import sys, time, redis\n"
        "from server.redis_embedded import EmbeddedRedis\n"
        f"r = EmbeddedRedis({str(tmp_path)!r}); r.start()\n"
        "redis.Redis.from_url(r.url).xadd('hs:iv:x:events', {'r': b'live record'})\n"
        "print(r.pid, flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    redis_pid = int(parent.stdout.readline())
    assert alive(redis_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert wait_gone(redis_pid), "embedded redis-server outlived a killed parent"
    # The live history survives the crash (append-only file): a lost interview's report is
    # rebuilt from it after the restart.
    with EmbeddedRedis(tmp_path) as again:
        rows = redis.Redis.from_url(again.url).xrange("hs:iv:x:events")
    assert [fields for _id, fields in rows or []] == [{b"r": b"live record"}]


async def test_open_redis_embedded(make_settings: Callable[..., Settings]) -> None:
    async with open_redis(make_settings()) as handle:
        assert handle.mode == "embedded"
        assert await handle.client.ping()
        pid = handle.embedded.pid if handle.embedded else None
    assert pid is not None and await asyncio.to_thread(wait_gone, pid)


async def test_open_redis_external(
    make_settings: Callable[..., Settings], external_redis_url: str
) -> None:
    async with open_redis(make_settings(redis_url=external_redis_url)) as handle:
        assert handle.mode == "external" and handle.embedded is None
        assert await handle.client.ping()


async def test_unreachable_external_redis_fails_fast_without_leaking_password(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(redis_url="redis://:s3cret@127.0.0.1:1/0")
    with pytest.raises(ConfigError) as info:
        async with open_redis(settings):
            pass
    msg = str(info.value)
    assert "cannot reach Redis at redis://:***@127.0.0.1:1/0" in msg
    assert "s3cret" not in msg and "\n" not in msg
    assert "unset HIRESTREAM_REDIS_URL" in msg


async def test_malformed_redis_url(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match="not a Redis URL"):
        async with open_redis(make_settings(redis_url="http://127.0.0.1:6379")):
            pass


def test_redact_url() -> None:
    assert redact_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redact_url("redis://h:1/0") == "redis://h:1/0"
