"""The no-blocking guard (conftest.no_blocking_the_loop) itself: it fails a test whose loop
sleeps or computes past SLOW_CALLBACK_S, and not one whose process the host stopped in the
middle of a cheap callback (a CI run failed on such a pause)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

INNER = """
import asyncio, os, subprocess, time

def spin(seconds):
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass

async def test_sleeps_in_the_loop():
    await asyncio.sleep(0)
    time.sleep(0.45)

async def test_computes_in_the_loop():
    await asyncio.sleep(0)
    spin(0.45)

async def test_waits_off_the_loop():
    await asyncio.to_thread(time.sleep, 0.45)

async def stopped_while_spinning(cpu_s):
    # Another process stops this one for 0.4 s while the loop runs `cpu_s` of its own work.
    pid = os.getpid()
    stopper = subprocess.Popen(
        ["sh", "-c", f"sleep 0.05; kill -STOP {pid}; sleep 0.4; kill -CONT {pid}"]
    )
    await asyncio.sleep(0)
    spin(cpu_s)
    await asyncio.to_thread(stopper.wait)

async def test_cheap_callback_while_the_host_stops_us():
    await stopped_while_spinning(0.15)

async def test_computes_while_the_host_stops_us():
    await stopped_while_spinning(0.45)
"""


def test_guard_tells_blocking_from_a_stopped_host(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # the summary lines whole
    pytester.makeconftest(Path(__file__).with_name("conftest.py").read_text())
    pytester.makepyfile(test_inner=INNER)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = {
        name: "blocked" if "event loop blocked" in err else "ok"
        for name, err in _errors(result.outlines).items()
    }
    assert outcomes == {
        "test_sleeps_in_the_loop": "blocked",
        "test_computes_in_the_loop": "blocked",
        "test_computes_while_the_host_stops_us": "blocked",
    }, "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=5, errors=3)


def _errors(lines: list[str]) -> dict[str, str]:
    """Test name -> its teardown error text, from pytest's short summary."""
    errors = {}
    for line in lines:
        if line.startswith("ERROR test_inner.py::"):
            name, _, why = line.removeprefix("ERROR test_inner.py::").partition(" - ")
            errors[name] = why
    return errors
