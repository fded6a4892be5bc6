"""The SQL engine (SQLite in WAL mode by default, PostgreSQL by URL) and its migrations.

All functions here block: call them from a worker thread in async code.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_S = 5
# The store holds personal data (and self-identification answers): owner-only, whatever the
# umask. SQLite gives its -wal and -shm files the database file's mode.
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


class DatabaseError(Exception):
    """The database URL is wrong or the database cannot be used; the message says how to fix it."""


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. `postgresql://` uses psycopg 3; SQLite gets WAL, foreign keys and a
    busy timeout so the server and a CLI command can share the file."""
    try:
        u = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database URL {redact(url)!r} is not valid; use sqlite:///path/to/file.db "
            "or postgresql://user@host:5432/dbname"
        ) from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            try:
                private_sqlite_files(Path(u.database).expanduser())
            except OSError as err:
                raise DatabaseError(
                    f"cannot create {err.filename} for the SQLite database ({err.strerror}); "
                    "set HIRESTREAM_DATA_DIR or HIRESTREAM_DATABASE_URL to a writable place"
                ) from None
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 15})
    elif u.get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {"connect_timeout": CONNECT_TIMEOUT_S})
    else:
        raise DatabaseError(
            f"database backend {u.get_backend_name()!r} is not supported; use sqlite or postgresql"
        )
    try:
        engine = create_engine(u, pool_pre_ping=True, **kwargs)
    except (ArgumentError, NoSuchModuleError) as err:
        raise DatabaseError(f"database URL {redact(url)!r} cannot be used: {err}") from None
    if u.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def private_dir(folder: Path) -> None:
    """Create `folder` (and parents) owner-only; an existing one is made owner-only too."""
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    folder.chmod(PRIVATE_DIR)


def private_sqlite_files(db: Path) -> None:
    """The SQLite file created 0600 before SQLite opens it; existing ones (with -wal and -shm)
    set to 0600 on start. A new folder for it is created 0700."""
    if not db.parent.exists():
        private_dir(db.parent)
    if not db.exists():
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            path.chmod(PRIVATE_FILE)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster than FULL
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise DatabaseError(
            f"cannot use the database at {redact(str(engine.url))} ({reason}); "
            "check HIRESTREAM_DATABASE_URL and that the server is running"
        ) from None


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@dataclass(frozen=True)
class MigrationStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def head_revision() -> str:
    """The newest migration the code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def migration_status(engine: Engine) -> MigrationStatus:
    head = head_revision()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return MigrationStatus(current, head)


def migrate(engine: Engine, revision: str = "head") -> MigrationStatus:
    """Bring the schema to the newest migration, or to `revision` (idempotent)."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    status = migration_status(engine)
    log.info("database schema at revision %s", status.current)
    return status


def downgrade(engine: Engine, revision: str) -> MigrationStatus:
    """Take the schema back to `revision` (operators undoing an upgrade; tests)."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return migration_status(engine)
