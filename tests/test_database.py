from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from hr_bridge import audit
from hr_bridge.db import DatabaseError, check_connection, make_engine, migrate, migration_status


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'hs.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = make_engine(url)
    request.addfinalizer(eng.dispose)
    return eng


def test_migrations_create_schema_and_are_idempotent(engine: Engine) -> None:
    check_connection(engine)
    before = migration_status(engine)
    assert before.current is None and not before.up_to_date
    assert migrate(engine).up_to_date
    assert migrate(engine).up_to_date  # a second run changes nothing
    ev = audit.record(engine, "system", "consent.given", "interview:42", notice_version="2026-11")
    assert ev.id is not None
    (got,) = audit.events_for(engine, "interview:42")
    assert got.action == "consent.given" and got.detail == {"notice_version": "2026-11"}


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    eng.dispose()


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("not a url", "not valid"),
        ("mysql://root@127.0.0.1/test", "not supported"),
    ],
)
def test_bad_database_urls(url: str, expect: str) -> None:
    with pytest.raises(DatabaseError, match=expect):
        make_engine(url)


def test_unreachable_postgres_is_one_clear_line() -> None:
    eng = make_engine("postgresql://postgres:pw@127.0.0.1:1/test")
    with pytest.raises(DatabaseError) as info:
        check_connection(eng)
    msg = str(info.value)
    assert "cannot use the database at postgresql+psycopg://postgres:***@127.0.0.1:1/test" in msg
    assert "pw@" not in msg and "\n" not in msg


def test_unwritable_sqlite_location() -> None:
    with pytest.raises(DatabaseError, match="cannot create /proc/hirestream"):
        make_engine("sqlite:////proc/hirestream/x.db")
