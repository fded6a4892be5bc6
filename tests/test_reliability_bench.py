"""Smoke test of bench.reliability: a short `sdp` run against a real `hirestream serve` writes
its figures, and Ctrl-C in the middle of a soak leaves no server, Redis or probe behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import reliability_sdp as bad_sdp
from bench.reliability_client import real_offer_sdp
from tests.procs import wait_gone

ROOT = Path(__file__).resolve().parent.parent
# The processes of a running soak, by command line: the server, its Redis and the probe.
SOAK_RUNNING = ("-m server serve", "redis-server", "-m bench.reliability_probe")


def ours(tmp: Path) -> list[int]:
    """Live processes of a bench run whose temp files live under `tmp`: servers (their
    HIRESTREAM_DATA_DIR is there), the probe (its output path), and their children (the
    embedded redis-server rewrites its own environment and command line)."""
    mark = str(tmp).encode()
    found, parents = [], {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
            cmd = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if stat[0] == "Z":
            continue
        parents[int(entry.name)] = int(stat[1])
        probe = b"bench.reliability_probe" in cmd and mark in cmd
        if b"HIRESTREAM_DATA_DIR=" + mark in env or probe:
            found.append(int(entry.name))
    # A child forked but not yet exec'd matches both ways: count each process once.
    return sorted(set(found) | {pid for pid, ppid in parents.items() if ppid in found})


def bench(tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = os.environ | {"TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "bench.reliability", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_every_mutation_changes_a_real_offer() -> None:
    real = await real_offer_sdp()
    for name, seed in bad_sdp.plan(len(bad_sdp.MUTATIONS), seed=7):
        body = bad_sdp.make(name, real, seed)
        assert body != {"sdp": real, "type": "offer"}, name
    assert {n for n, _ in bad_sdp.plan(50, seed=7)} == set(bad_sdp.MUTATIONS)


def test_sdp_scenario_counts_every_offer(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    proc = bench(tmp_path, "--only", "sdp", "--sdp-offers", "30", "--out", str(out))
    stdout, _ = proc.communicate(timeout=150)
    assert proc.returncode == 0, stdout
    assert stdout.startswith("sdp ") and "4xx" in stdout, stdout
    data = json.loads(out.read_text())
    assert data["machine"]["cores"] == os.cpu_count()
    (res,) = data["results"]
    assert res["scenario"] == "sdp" and res["error"] is None, res
    details = res["details"]
    assert sum(details["by_class"].values()) == details["offers"] == 30
    assert sum(details["good_offer_statuses"].values()) == details["pool"]
    labels = {f["label"] for f in res["figures"]}
    assert {"4xx", "5xx", "invites spent", "RSS growth"} <= labels
    assert ours(tmp_path) == []


def describe(pids: list[int]) -> str:
    """State, kernel wait channel and command line of each pid: what a stuck run was doing."""
    lines = []
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            wchan = (proc / "wchan").read_text()
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        lines.append(f"{pid} {state} {wchan or '-'} {cmd[:160]}")
    return "\n".join(lines)


def why_not_started(tmp: Path, proc: subprocess.Popen[str]) -> str:
    """What a soak that never got its server, Redis and probe up left behind: the live
    processes, the servers' logs and the bench's own output. Kills the run."""
    report = [describe(ours(tmp))]
    for log in sorted(tmp.glob("hs-rel-*/*-server-*.log")):
        report.append(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        )
    for pid in [proc.pid, *ours(tmp)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    report.append(f"--- bench output\n{out[-3000:]}")
    return "\n".join(report)


def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    proc = bench(tmp_path, "--only", "soak", "--soak-s", "60", "--out", str(tmp_path / "r.json"))
    # Generous: on a loaded 2-core runner the bench, the server and its models take a while.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if all(what in describe(ours(tmp_path)) for what in SOAK_RUNNING):
            break
        time.sleep(0.2)
    started = ours(tmp_path)
    running = describe(started)
    assert all(what in running for what in SOAK_RUNNING), why_not_started(tmp_path, proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert all(wait_gone(pid, 10) for pid in started)
    assert ours(tmp_path) == []
