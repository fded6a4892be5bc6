"""Processes for the reliability bench: `hirestream serve` on loopback with a private data dir,
the /healthz probe, and a registry that kills every one of them on the way out.

Each server starts in its own session (process group), so killing the group also takes the
embedded redis-server with it; a scenario that kills the server with SIGKILL kills only the
server's pid, to see what the product itself leaves behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

START_TIMEOUT_S = 60.0
RUNNING = re.compile(r"running at (http://\S+?)/?\s")


@dataclass
class ProcRegistry:
    """Every child process this bench starts; kill_all() is idempotent and runs on exit."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            # The group first (server + embedded Redis), then the pid in case it left it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.procs.clear()


def rss_mb(pid: int) -> float | None:
    """Resident memory from /proc (psutil is not a dependency of the project)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[-1].split()[1])
            if ppid != pid or not alive(int(entry.name)):
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(entry.name), cmd))
    return out


def redis_child(pid: int) -> int | None:
    for child, cmd in children(pid):
        if "redis-server" in cmd:
            return child
    return None


@dataclass
class ServerOptions:
    data_dir: Path
    max_live: int = 4
    database_url: str | None = None
    redis_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


class Server:
    """One `hirestream serve` on 127.0.0.1, a free port, its log in the data dir."""

    def __init__(self, registry: ProcRegistry, opts: ServerOptions) -> None:
        self.registry = registry
        self.opts = opts
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self._log(self.starts)

    def _log(self, start: int) -> Path:
        return self.opts.data_dir.parent / f"{self.opts.data_dir.name}-server-{start}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
        env |= {
            "HIRESTREAM_HOST": "127.0.0.1",
            "HIRESTREAM_PORT": "0",
            "HIRESTREAM_DATA_DIR": str(self.opts.data_dir),
            "HIRESTREAM_MAX_LIVE_INTERVIEWS": str(self.opts.max_live),
            "HIRESTREAM_LOG_LEVEL": "INFO",
        }
        if self.opts.database_url:
            env["HIRESTREAM_DATABASE_URL"] = self.opts.database_url
        if self.opts.redis_url:
            env["HIRESTREAM_REDIS_URL"] = self.opts.redis_url
        return env | self.opts.extra_env

    def start(self) -> str:
        """Start (or restart on the same data dir) and wait for the URL line; returns the URL."""
        self.starts += 1
        self.opts.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = self.registry.add(
            subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if m := RUNNING.search(self.log_path.read_text(errors="replace")):
                self.base = m.group(1).rstrip("/")
                return self.base
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"hirestream serve did not start: {self.log_tail()}")

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    def admin_key(self) -> str:
        return (self.opts.data_dir / "admin.key").read_text().strip()

    def rss_mb(self) -> float | None:
        return rss_mb(self.pid)

    def kill9(self) -> None:
        """SIGKILL the server process only (not its group): a crash, as the OS sees one."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """A clean stop (SIGTERM, then SIGKILL for the whole group after 20 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])

    def log_count(self, pattern: str) -> int:
        """Lines matching a regular expression (tracebacks, errors) in the logs of every
        start of this server."""
        n = 0
        for start in range(1, self.starts + 1):
            with contextlib.suppress(OSError):
                text = self._log(start).read_text(errors="replace")
                n += len(re.findall(pattern, text, flags=re.MULTILINE))
        return n


def start_probe(
    registry: ProcRegistry, url: str, seconds: float, out: Path
) -> subprocess.Popen[bytes]:
    """The /healthz prober in its own process, so this process's own load (aiortc encoders)
    does not add to the round trips it measures."""
    return registry.add(
        subprocess.Popen(
            [sys.executable, "-m", "bench.reliability_probe", url, str(seconds), str(out)],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    )


@dataclass
class Context:
    """What every scenario gets: the process registry, a private temp root, the run options
    and the candidates' recording (16 kHz speech; silence follows it)."""

    registry: ProcRegistry
    root: Path
    quick: bool
    seed: int
    pcm: npt.NDArray[np.float32]
    database_url: str | None = None
    redis_url: str | None = None

    def server(self, name: str, max_live: int = 4, env: dict[str, str] | None = None) -> Server:
        opts = ServerOptions(
            self.root / name, max_live, self.database_url, self.redis_url, env or {}
        )
        return Server(self.registry, opts)

    @property
    def speech_s(self) -> float:
        return len(self.pcm) / 16_000
