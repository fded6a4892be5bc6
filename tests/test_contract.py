"""The served OpenAPI document is the contract the server keeps: schemathesis generates requests
from it (valid and invalid) against a real app on loopback (SQLite, embedded Redis) and fails on
any 5xx, an undocumented status code or content type, or a response outside its schema."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from server.settings import Settings

ADMIN_KEY = "contract-test-admin-key-0123456789"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded so the whole run takes a minute or two on two cores.
EXAMPLES_PER_OPERATION = 40


class _Server:
    """The app served by aiohttp in a thread with its own event loop, on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.port = settings, 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # reported by start()
            self._error = err
            self._ready.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        runner = web.AppRunner(create_app(self.settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait(120)
        if self._error is not None or not self.port:
            raise RuntimeError(f"the app did not start: {self._error!r}")
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def served(make_settings: Callable[..., Settings]) -> Iterator[str]:
    # A high limit: schemathesis sends the admin key to candidate-only calls too (401 each).
    with _Server(
        make_settings(admin_api_key=ADMIN_KEY, auth_failure_limit=10**9, header_timeout_s=60)
    ) as base:
        yield base


def _exercise(case: schemathesis.Case[Any], session: requests.Session, failures: list[str]) -> None:
    try:
        case.call_and_validate(session=session, checks=CHECKS)
    except FailureGroup as group:  # keep each failure's title and the request; go on
        for failure in group.exceptions:
            failures.append(f"{case.method} {case.formatted_path}: {failure}".splitlines()[0])
        raise


@pytest.mark.timeout(400)  # about 2 minutes on two busy cores
def test_the_server_keeps_its_contract(served: str) -> None:
    """Each operation, with valid and with invalid requests (bounded, reproducible)."""
    loaded = schemathesis.openapi.from_url(f"{served}/api/openapi.json")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    failures: list[str] = []
    for result in loaded.get_all_operations():
        assert isinstance(result, Ok), result  # every operation loads
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: report, move on
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case[Any]) -> None:
                _exercise(case, session, failures)

            with contextlib.suppress(
                FailureGroup, Unsatisfiable
            ):  # Unsatisfiable: no way to negate
                run()
    assert not failures, "\n".join(sorted(set(failures)))


def test_the_document_is_openapi_3_1_with_resolvable_refs(served: str) -> None:
    r = requests.get(f"{served}/api/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    loaded = schemathesis.openapi.from_dict(doc)
    operations = list(loaded.get_all_operations())
    assert len(operations) == sum(len(item) for item in doc["paths"].values())
    assert all(isinstance(op, Ok) for op in operations)  # every $ref resolves


def test_unknown_api_routes_and_methods_answer_json(served: str) -> None:
    for method, path, status in (
        ("GET", "/api/nowhere", 404),
        ("DELETE", "/api/requisitions", 405),
    ):
        r = requests.request(method, served + path, timeout=10)
        assert r.status_code == status and r.json()["error"], (method, path)


def test_document_is_built_once(served: str) -> None:
    first = requests.get(f"{served}/api/openapi.json", timeout=10).content
    assert requests.get(f"{served}/api/openapi.json", timeout=10).content == first
