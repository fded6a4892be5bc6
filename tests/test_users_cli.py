"""`hirestream users` and the first-run link of `hirestream serve`, as real processes on a
SQLite store in a temp data folder."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine

from hr_bridge import accounts
from hr_bridge.accounts import LinkError, SignInOutcome
from hr_bridge.audit import events_for
from hr_bridge.db import make_engine

PW = "correct horse battery"
LINK = re.compile(r"(https?://\S+)/account/setup#([A-Za-z0-9_-]{43})")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env.update(
        HIRESTREAM_DATA_DIR=str(tmp_path / "data"),
        HIRESTREAM_PUBLIC_URL="https://hr.example.com",
        HIRESTREAM_PORT="0",
    )
    return env


def _users(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "users", *args],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _token(out: str) -> str:
    m = LINK.search(out)
    assert m is not None, out
    assert m.group(1) == "https://hr.example.com"
    assert m.group(0) == m.group(1) + accounts.setup_path(m.group(2))
    return m.group(2)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    """The engine on the SQLite file the commands use (created by the first command)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'data' / 'hirestream.db'}")
    yield eng
    eng.dispose()


def test_users_add_list_disable_enable_reset(tmp_path: Path, store: Engine) -> None:
    r = _users(tmp_path, "add", "Ada@Example.com", "--name", "Ada Lovelace", "--role", "hr_admin")
    assert r.returncode == 0, r.stderr
    assert "account ada@example.com created (hr_admin)" in r.stdout
    token = _token(r.stdout)
    assert token not in r.stderr
    ada = accounts.reset_with_link(store, token, PW)
    assert ada.email == "ada@example.com" and ada.has_password
    assert accounts.sign_in(store, "ada@example.com", PW).outcome is SignInOutcome.OK
    with pytest.raises(LinkError):
        accounts.reset_with_link(store, token, "another passphrase")

    rex_roles = ["--role", "recruiter", "--role", "auditor"]
    r = _users(tmp_path, "add", "rex@example.com", "--name", "Rex", *rex_roles)
    assert r.returncode == 0, r.stderr
    rex_link = _token(r.stdout)
    r = _users(tmp_path, "list")
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.splitlines()
    assert head.split() == ["email", "name", "roles", "disabled", "TOTP", "last", "sign-in"]
    assert rows[0].split()[:4] == ["ada@example.com", "Ada", "Lovelace", "hr_admin"]
    assert rows[0].endswith(" UTC")  # she signed in above; the time is shown
    assert "recruiter, auditor" in rows[1] and rows[1].endswith("never")

    # The last enabled hr_admin stays; others can be disabled and enabled.
    r = _users(tmp_path, "disable", "ada@example.com")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "hirestream: error: disabled: the last enabled hr_admin cannot be disabled; "
        "make another account hr_admin first"
    ]
    r = _users(tmp_path, "disable", "REX@example.com")
    assert r.returncode == 0 and "account rex@example.com disabled" in r.stdout
    rex = accounts.find_account(store, "rex@example.com")
    assert rex is not None and rex.disabled
    with pytest.raises(LinkError, match="used already"):  # disabling ended his unused link
        accounts.link_purpose(store, rex_link)
    assert _users(tmp_path, "enable", "rex@example.com").returncode == 0
    rex = accounts.find_account(store, "rex@example.com")
    assert rex is not None and not rex.disabled

    # Reset: sessions end, the lockout and (with --totp) the second factor go, a new link.
    secret = accounts.new_totp_secret()
    assert accounts.enable_totp(store, ada.id, secret, pyotp.TOTP(secret).now(), "test")
    session, _ = accounts.start_session(store, ada.id, "password", 3600)
    for _ in range(5):
        accounts.sign_in(store, "ada@example.com", "wrong password!")
    r = _users(tmp_path, "reset", "ada@example.com", "--totp")
    assert r.returncode == 0, r.stderr
    assert "1 session(s) ended, lockout cleared; second factor removed" in r.stdout
    assert accounts.resume_session(store, session, 600) is None
    # A second reset's link replaces the first: a leaked earlier link is dead.
    earlier = _token(r.stdout)
    r = _users(tmp_path, "reset", "ada@example.com")
    assert r.returncode == 0, r.stderr
    with pytest.raises(LinkError, match="used already"):
        accounts.link_purpose(store, earlier)
    view = accounts.reset_with_link(store, _token(r.stdout), "a fresh passphrase")
    assert not view.totp_enabled and view.locked_until is None
    assert accounts.sign_in(store, "ada@example.com", "a fresh passphrase").outcome is (
        SignInOutcome.OK
    )
    trail = [(e.actor, e.action) for e in events_for(store, f"account:{ada.id}")]
    assert ("operator:cli", "account.created") in trail
    assert ("operator:cli", "account.totp_disabled") in trail


ADD = ["add", "x@example.com", "--name", "X", "--role"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([*ADD, "boss"], "role: 'boss' is not a role"),
        ([*ADD, "hiring_manager"], "needs a requisition"),
        ([*ADD, "hiring_manager:requisition=nope"], "no requisition 'nope'"),
        (["add", "not-an-email", "--name", "X", "--role", "recruiter"], "email: "),
        (["disable", "nobody@example.com"], "no account with email 'nobody@example.com'"),
        (["reset", "nobody@example.com"], "no account"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    r = _users(tmp_path, *args)
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("hirestream: error: ") and says in line


def test_adding_an_existing_email_is_refused(tmp_path: Path) -> None:
    assert (
        _users(tmp_path, "add", "a@example.com", "--name", "A", "--role", "hr_admin").returncode
        == 0
    )
    r = _users(tmp_path, "add", "A@EXAMPLE.com", "--name", "A2", "--role", "recruiter")
    assert r.returncode == 2 and "exists already" in r.stderr and r.stdout == ""


# --- first run ------------------------------------------------------------------------------


def _serve(tmp_path: Path, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "server", "serve"],
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def _wait_for(log: Path, pattern: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if pattern in log.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"serve never logged {pattern!r}:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGINT, and everything it printed on stdout."""
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    return out


def _stdout_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=90), "serve printed nothing on stdout"
    return proc.stdout.readline()


def test_serve_prints_a_first_admin_link_until_there_is_an_admin(
    tmp_path: Path, store: Engine
) -> None:
    log = tmp_path / "serve.log"
    proc = _serve(tmp_path, log)
    try:
        line = _stdout_line(proc)
        assert line.startswith("First run: create the first HR admin at https://hr.example.com/")
        assert line.rstrip().endswith("(valid 24 h, once).")
        token = _token(line)
        assert _stop(proc) == ""
    finally:
        if proc.poll() is None:
            proc.kill()
    assert token not in log.read_text()
    assert accounts.link_purpose(store, token) == accounts.FIRST_ADMIN
    ada = accounts.create_first_admin(store, token, "ada@example.com", "Ada", PW)
    assert [g.label() for g in ada.roles] == ["hr_admin"]

    proc = _serve(tmp_path, log)
    try:
        _wait_for(log, "is running at", proc)
        assert _stop(proc) == ""  # an admin exists: no link
    finally:
        if proc.poll() is None:
            proc.kill()
