"""The no-blocking guard (conftest.no_blocking_the_loop) itself: it fails a test whose loop
sleeps or computes past SLOW_CALLBACK_S, and not one whose process the host stopped in the
middle of a cheap callback (a CI run failed on such a pause); on a slower host the bound
grows with the host's measured slowdown (pinned here, so the outcomes hold on any host)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HOST_SLOWDOWN_ENV

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

async def test_computes_longer_in_the_loop():
    await asyncio.sleep(0)
    spin(0.75)

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
    result = _run_inner(pytester, monkeypatch, slowdown=1.0)
    assert _outcomes(result) == {
        "test_sleeps_in_the_loop": "blocked",
        "test_computes_in_the_loop": "blocked",
        "test_computes_longer_in_the_loop": "blocked",
        "test_computes_while_the_host_stops_us": "blocked",
    }, "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=6, errors=4)


def test_a_slower_host_gets_a_proportionally_longer_bound(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twice as slow: 0.45 s of CPU is what 0.23 s on the reference machine would be (passes),
    # 0.75 s what 0.38 s would be (fails).
    result = _run_inner(pytester, monkeypatch, slowdown=2.0, select="computes_")
    assert "host slowdown 2.00" in result.stdout.str()
    assert _outcomes(result) == {"test_computes_longer_in_the_loop": "blocked"}, "\n".join(
        result.outlines[-40:]
    )
    result.assert_outcomes(passed=3, errors=1)  # 0.45 s in the loop, with or without a stop


def test_a_pinned_slowdown_that_is_not_a_positive_number_stops_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for pin in ("0", "fast"):
        result = _run_inner(pytester, monkeypatch, slowdown=pin)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert f"{HOST_SLOWDOWN_ENV}={pin!r}: give a positive number" in result.stderr.str()


def _run_inner(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    slowdown: float | str,
    select: str = "",
) -> pytest.RunResult:
    """The inner tests in a pytest subprocess with the project's conftest."""
    monkeypatch.setenv("COLUMNS", "1000")  # the summary lines whole
    monkeypatch.setenv(HOST_SLOWDOWN_ENV, str(slowdown))
    pytester.makeconftest(Path(__file__).with_name("conftest.py").read_text())
    pytester.makepyfile(test_inner=INNER)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", select)


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """The inner tests that errored, and whether the guard's failure was the error."""
    return {
        name: "blocked" if "event loop blocked" in err else "ok"
        for name, err in _errors(result.outlines).items()
    }


def _errors(lines: list[str]) -> dict[str, str]:
    """Test name -> its teardown error text, from pytest's short summary."""
    errors = {}
    for line in lines:
        if line.startswith("ERROR test_inner.py::"):
            name, _, why = line.removeprefix("ERROR test_inner.py::").partition(" - ")
            errors[name] = why
    return errors
