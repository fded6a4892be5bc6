"""Staff accounts (hr_bridge.accounts): roles, sign-in and lockout, TOTP, sessions, API keys,
setup links, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel, select

# Their tables are part of the metadata compared with the migrations.
import hr_bridge.profiles
import hr_bridge.self_id  # noqa: F401
from hr_bridge import accounts as acc
from hr_bridge import interviews as db
from hr_bridge.accounts import (
    AccountConflict,
    AccountError,
    LinkError,
    LockoutPolicy,
    RoleGrant,
    SignInOutcome,
)
from hr_bridge.audit import events_for
from hr_bridge.db import downgrade, migrate
from hr_bridge.models import AuditEvent
from hr_bridge.passwords import check_policy, hash_password, needs_rehash, verify_password
from hr_bridge.roles import Action, Role

PW = "correct horse battery"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADMIN = RoleGrant(Role.HR_ADMIN)


def _admin(engine: Engine, email: str = "ada@example.com") -> acc.AccountView:
    return acc.create_account(engine, email, "Ada", [ADMIN], "test", password=PW)


# --- schema and passwords -------------------------------------------------------------------


def test_migration_matches_the_models_and_downgrades(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []
    downgrade(engine, "0008")
    assert "account" not in inspect(engine).get_table_names()
    assert migrate(engine).up_to_date
    assert {"account", "account_role", "staff_session", "api_key", "setup_link"} <= set(
        inspect(engine).get_table_names()
    )


def test_passwords_hash_verify_and_policy() -> None:
    hashed = hash_password(PW)
    assert hashed.startswith("$argon2id$") and PW not in hashed
    assert verify_password(hashed, PW) and not verify_password(hashed, PW + "x")
    assert not verify_password("not a hash", PW)
    assert not needs_rehash(hashed) and needs_rehash("not a hash")
    check_policy("twelve chars")
    for bad, says in [("short", "at least"), ("a" * 257, "at most"), ("x" * 20, "one character")]:
        with pytest.raises(ValueError, match=f"^password: .*{says}"):
            check_policy(bad)


# --- accounts and roles ---------------------------------------------------------------------


def test_role_grants_parse_label_and_validate(engine: Engine) -> None:
    req = db.create_requisition(engine, title="Support", questions=[{"text": "Q"}])
    iv = db.create_interview(engine, requisition_id=req.id, candidate_name="C")
    labels = ["hr_admin", f"hiring_manager:requisition={req.id}"]
    labels += [f"interviewer:interview={iv.id}", f"interviewer:requisition={req.id}"]
    for text in labels:
        assert RoleGrant.parse(text).label() == text
    for text, says in [
        ("boss", "not a role"),
        ("hiring_manager", "needs a requisition id"),
        ("interviewer", "needs a interview or requisition id"),
        (f"hr_admin:requisition={req.id}", "takes no id"),
        (f"hiring_manager:interview={iv.id}", "cannot be scoped to a interview"),
        ("hiring_manager:team=1", "a scope is"),
    ]:
        with pytest.raises(ValueError, match=says):
            RoleGrant.parse(text)
    bad: list[tuple[RoleGrant, str]] = [
        (RoleGrant(Role.HIRING_MANAGER), "needs a requisition id"),
        (RoleGrant(Role.HIRING_MANAGER, requisition_id="nope"), "no requisition 'nope'"),
        (RoleGrant(Role.INTERVIEWER, interview_id="nope"), "no interview 'nope'"),
        (RoleGrant(Role.RECRUITER, requisition_id=req.id), "takes no id"),
        (RoleGrant(Role.INTERVIEWER, req.id, iv.id), "not both"),
    ]
    for grant, says in bad:
        with pytest.raises(AccountError, match=f"^role: .*{says}"):
            acc.create_account(engine, "x@example.com", "X", [grant], "test")
    assert acc.find_account(engine, "x@example.com") is None
    roles = [
        RoleGrant(Role.HIRING_MANAGER, requisition_id=req.id),
        RoleGrant(Role.INTERVIEWER, interview_id=iv.id),
        RoleGrant(Role.RECRUITER),
    ]
    view = acc.create_account(engine, "x@example.com", "X", roles + roles[:1], "test")
    assert view.roles == tuple(roles) and not view.has_password and not view.sso


def test_emails_are_unique_ignoring_case_and_checked(engine: Engine) -> None:
    a = acc.create_account(engine, "  Mei.Lin@Example.COM ", "Mei  Lin", [], "test")
    assert (a.email, a.name) == ("mei.lin@example.com", "Mei Lin")
    with pytest.raises(AccountConflict, match="exists already"):
        acc.create_account(engine, "MEI.LIN@example.com", "Other", [], "test")
    assert acc.find_account(engine, "Mei.Lin@example.com") == a
    assert acc.get_account(engine, a.id) == a and acc.list_accounts(engine) == [a]
    with pytest.raises(AccountError, match=r"^email: "):
        acc.create_account(engine, "not-an-address", "X", [], "test")
    with pytest.raises(AccountError, match=r"^name: "):
        acc.create_account(engine, "n@example.com", "   ", [], "test")
    with pytest.raises(AccountError, match=r"^password: "):
        acc.create_account(engine, "n@example.com", "N", [], "test", password="short")
    assert [e.action for e in events_for(engine, f"account:{a.id}")] == ["account.created"]


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(engine: Engine) -> None:
    assert acc.needs_first_admin(engine)
    ada = _admin(engine)
    assert not acc.needs_first_admin(engine)
    with pytest.raises(AccountConflict, match="last enabled hr_admin"):
        acc.set_disabled(engine, ada.id, True, "test")
    with pytest.raises(AccountConflict, match="last enabled hr_admin"):
        acc.set_roles(engine, ada.id, [RoleGrant(Role.RECRUITER)], "test")
    bob = acc.create_account(engine, "bob@example.com", "Bob", [ADMIN], "test")
    # A disabled admin does not count as the other admin.
    acc.set_disabled(engine, bob.id, True, "account:" + ada.id)
    with pytest.raises(AccountConflict):
        acc.set_roles(engine, ada.id, [], "test")
    acc.set_disabled(engine, bob.id, False, "test")
    view = acc.set_roles(engine, ada.id, [RoleGrant(Role.AUDITOR)], "account:" + bob.id)
    assert view.roles == (RoleGrant(Role.AUDITOR),)
    assert acc.set_disabled(engine, ada.id, True, "test").disabled
    with pytest.raises(AccountConflict):
        acc.set_disabled(engine, bob.id, True, "test")
    (entry,) = [e for e in events_for(engine, f"account:{ada.id}") if e.action.endswith("set")]
    assert entry.actor == f"account:{bob.id}"
    assert entry.detail == {"before": ["hr_admin"], "after": ["auditor"]}


# --- sign-in --------------------------------------------------------------------------------


def test_sign_in_outcomes_and_lockout(engine: Engine) -> None:
    ada = _admin(engine)
    ok = acc.sign_in(engine, "ADA@example.com", PW, now=T0)
    assert ok.outcome is SignInOutcome.OK and ok.account is not None
    assert ok.account.last_sign_in_at == T0
    assert acc.sign_in(engine, "nobody@example.com", PW).outcome is SignInOutcome.BAD_CREDENTIALS
    assert acc.sign_in(engine, "garbage", PW).outcome is SignInOutcome.BAD_CREDENTIALS
    for k in range(4):
        r = acc.sign_in(engine, ada.email, "wrong password!", now=T0 + timedelta(seconds=k))
        assert r.outcome is SignInOutcome.BAD_CREDENTIALS
    r = acc.sign_in(engine, ada.email, "wrong password!", now=T0 + timedelta(seconds=4))
    until = T0 + timedelta(seconds=4 + 900)
    assert r.outcome is SignInOutcome.LOCKED and r.locked_until == until
    # Locked: the right password does not help until the lock ends.
    r = acc.sign_in(engine, ada.email, PW, now=until - timedelta(seconds=1))
    assert r.outcome is SignInOutcome.LOCKED and r.locked_until == until
    view = acc.get_account(engine, ada.id)
    assert view is not None and view.locked_until == until
    r = acc.sign_in(engine, ada.email, PW, now=until)
    assert r.outcome is SignInOutcome.OK and r.account is not None
    assert r.account.locked_until is None
    # The count restarts after a success: four more failures do not lock.
    for _ in range(4):
        assert acc.sign_in(engine, ada.email, "nope nope nope", now=until).outcome is (
            SignInOutcome.BAD_CREDENTIALS
        )
    assert acc.sign_in(engine, ada.email, PW, now=until).outcome is SignInOutcome.OK
    short = LockoutPolicy(max_failures=2, lock_s=60)
    acc.sign_in(engine, ada.email, "nope nope nope", policy=short, now=until)
    r = acc.sign_in(engine, ada.email, "nope nope nope", policy=short, now=until)
    assert r.outcome is SignInOutcome.LOCKED and r.locked_until == until + timedelta(seconds=60)
    actions = [e.action for e in events_for(engine, f"account:{ada.id}")]
    assert actions.count("account.locked") == 2 and actions.count("account.sign_in") == 3
    with Session(engine) as s:
        for e in s.exec(select(AuditEvent)):
            assert PW not in str(e.detail) and "nope" not in str(e.detail)


def test_disabled_accounts_say_so_only_after_the_right_password(engine: Engine) -> None:
    _admin(engine)
    bob = acc.create_account(engine, "bob@example.com", "Bob", [], "test", password=PW)
    acc.set_disabled(engine, bob.id, True, "test")
    wrong = acc.sign_in(engine, "bob@example.com", "wrong password!")
    unknown = acc.sign_in(engine, "nobody@example.com", "wrong password!")
    assert wrong == unknown == acc.SignInResult(SignInOutcome.BAD_CREDENTIALS)
    assert acc.sign_in(engine, "bob@example.com", PW).outcome is SignInOutcome.DISABLED
    # Without a password (SSO-only) nothing matches.
    acc.create_account(engine, "sso@example.com", "S", [], "test")
    assert acc.sign_in(engine, "sso@example.com", "").outcome is SignInOutcome.BAD_CREDENTIALS


def test_totp_required_bad_and_ok(engine: Engine) -> None:
    ada = _admin(engine)
    secret = acc.new_totp_secret()
    uri = acc.totp_uri(secret, ada.email)
    assert (
        uri.startswith("otpauth://totp/hirestream:ada%40example.com?")
        and "issuer=hirestream" in uri
    )
    stale = pyotp.TOTP(secret).at(datetime.now(UTC) - timedelta(minutes=10))
    assert not acc.enable_totp(engine, ada.id, secret, stale, "test")
    view = acc.get_account(engine, ada.id)
    assert view is not None and not view.totp_enabled
    # Turned on a minute before T0, so T0's code has not been used yet.
    before = T0 - timedelta(minutes=1)
    assert acc.enable_totp(engine, ada.id, secret, pyotp.TOTP(secret).at(before), "test", before)
    view = acc.get_account(engine, ada.id)
    assert view is not None and view.totp_enabled
    assert acc.sign_in(engine, ada.email, PW).outcome is SignInOutcome.TOTP_REQUIRED
    assert acc.sign_in(engine, ada.email, "wrong password!", "123456").outcome is (
        SignInOutcome.BAD_CREDENTIALS
    )
    code = pyotp.TOTP(secret).at(T0)
    wrong = pyotp.TOTP(secret).at(T0 + timedelta(minutes=5))
    assert acc.sign_in(engine, ada.email, PW, wrong, now=T0).outcome is SignInOutcome.BAD_TOTP
    assert acc.sign_in(engine, ada.email, PW, "abc", now=T0).outcome is SignInOutcome.BAD_TOTP
    assert acc.sign_in(engine, ada.email, PW, code, now=T0).outcome is SignInOutcome.OK
    # Wrong codes count as failures; TOTP_REQUIRED does not.
    policy = LockoutPolicy(max_failures=2)
    for _ in range(3):
        assert acc.sign_in(engine, ada.email, PW, policy=policy, now=T0).outcome is (
            SignInOutcome.TOTP_REQUIRED
        )
    acc.sign_in(engine, ada.email, PW, wrong, policy=policy, now=T0)
    r = acc.sign_in(engine, ada.email, PW, wrong, policy=policy, now=T0)
    assert r.outcome is SignInOutcome.LOCKED
    acc.disable_totp(engine, ada.id, "test")
    later = T0 + timedelta(hours=1)
    assert acc.sign_in(engine, ada.email, PW, now=later).outcome is SignInOutcome.OK


def test_a_totp_code_signs_in_once(engine: Engine) -> None:
    ada = _admin(engine)
    secret = acc.new_totp_secret()
    totp = pyotp.TOTP(secret)

    def code_at(at: datetime, code: str) -> SignInOutcome:
        return acc.sign_in(engine, ada.email, PW, code, now=at).outcome

    step = timedelta(seconds=30)
    assert acc.enable_totp(engine, ada.id, secret, totp.at(T0), "test", now=T0)
    # The code that turned TOTP on was seen: it cannot sign in, nor can an earlier one.
    assert code_at(T0, totp.at(T0)) is SignInOutcome.BAD_TOTP
    assert code_at(T0, totp.at(T0 - step)) is SignInOutcome.BAD_TOTP
    assert code_at(T0 + step, totp.at(T0 + step)) is SignInOutcome.OK
    assert code_at(T0 + step, totp.at(T0 + step)) is SignInOutcome.BAD_TOTP
    # A code from the next step (a fast phone clock) is accepted once; then the step it
    # was for and any before it are spent.
    assert code_at(T0 + step, totp.at(T0 + 2 * step)) is SignInOutcome.OK
    assert code_at(T0 + 2 * step, totp.at(T0 + 2 * step)) is SignInOutcome.BAD_TOTP
    assert code_at(T0 + 2 * step, totp.at(T0 + step)) is SignInOutcome.BAD_TOTP
    assert code_at(T0 + 3 * step, totp.at(T0 + 3 * step)) is SignInOutcome.OK
    # Re-enabling the same secret with a spent code is refused; a new secret starts afresh.
    assert not acc.enable_totp(engine, ada.id, secret, totp.at(T0 + 3 * step), "t", T0 + 3 * step)
    other = pyotp.TOTP(acc.new_totp_secret())
    assert acc.enable_totp(
        engine, ada.id, other.secret, other.at(T0 + 3 * step), "t", T0 + 3 * step
    )
    assert code_at(T0 + 4 * step, other.at(T0 + 4 * step)) is SignInOutcome.OK
    with Session(engine) as s:
        row = s.get(acc.Account, ada.id)
        assert row is not None and row.totp_last_step == other.timecode(T0 + 4 * step)


def _sign_in_at_once(engine: Engine, email: str, code: str, at: datetime) -> list[str]:
    """Two sign-ins with the same code from their own threads, released together."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        outcomes.append(acc.sign_in(engine, email, PW, code, now=at).outcome.value)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_one_totp_code_used_twice_at_once_signs_in_once(engine: Engine) -> None:
    ada = _admin(engine)
    totp = pyotp.TOTP(acc.new_totp_secret())
    assert acc.enable_totp(engine, ada.id, totp.secret, totp.at(T0), "test", now=T0)
    for round_ in range(1, 4):
        at = T0 + timedelta(seconds=30 * round_)
        assert _sign_in_at_once(engine, ada.email, totp.at(at), at) == ["bad_totp", "ok"]


def test_set_password_ends_sessions_and_clears_the_lock(engine: Engine) -> None:
    ada = _admin(engine)
    token, _ = acc.start_session(engine, ada.id, "password", 3600)
    for _ in range(5):
        acc.sign_in(engine, ada.email, "wrong password!")
    with pytest.raises(AccountError, match=r"^password: "):
        acc.set_password(engine, ada.id, "short", "test")
    acc.set_password(engine, ada.id, "a brand new password", "test")
    assert acc.resume_session(engine, token, 3600) is None
    assert acc.sign_in(engine, ada.email, PW).outcome is SignInOutcome.BAD_CREDENTIALS
    assert acc.sign_in(engine, ada.email, "a brand new password").outcome is SignInOutcome.OK


# --- single sign-on -------------------------------------------------------------------------


def test_oidc_finds_links_or_creates(engine: Engine) -> None:
    ada = _admin(engine)
    sub = "https://idp.example.com|abc"
    assert acc.account_for_oidc(engine, sub, "new@example.com", "New", None, False, "sso") is None
    linked = acc.account_for_oidc(engine, sub, "ADA@example.com", "Ada", None, False, "sso")
    assert linked is not None and linked.id == ada.id and linked.sso
    again = acc.account_for_oidc(engine, sub, "other@example.com", "Ada", None, False, "sso")
    assert again is not None and again.id == ada.id
    with pytest.raises(AccountConflict):
        acc.account_for_oidc(engine, sub + "2", "ada@example.com", "Ada", None, True, "sso")
    recruiter = [RoleGrant(Role.RECRUITER)]
    made = acc.account_for_oidc(engine, "idp|x", "Rex@example.com", "Rex", recruiter, True, "sso")
    assert made is not None and made.email == "rex@example.com" and not made.has_password
    assert made.roles == (RoleGrant(Role.RECRUITER),)
    swapped = acc.account_for_oidc(
        engine, "idp|x", "rex@example.com", "Rex", [RoleGrant(Role.AUDITOR)], False, "sso"
    )
    assert swapped is not None and swapped.roles == (RoleGrant(Role.AUDITOR),)
    acc.set_disabled(engine, made.id, True, "test")
    off = acc.account_for_oidc(engine, "idp|x", "rex@example.com", "Rex", None, False, "sso")
    assert off is not None and off.disabled


# --- sessions -------------------------------------------------------------------------------


def test_sessions_expire_idle_and_absolute_and_end(engine: Engine) -> None:
    ada = _admin(engine)
    token, view = acc.start_session(engine, ada.id, "password", 3600, now=T0)
    assert (
        view.id == hashlib.sha256(token.encode()).hexdigest()
        and view.ref == "session:" + view.id[:8]
    )
    assert view.expires_at == T0 + timedelta(hours=1) and view.via == "password"
    with Session(engine) as s:
        (row,) = s.exec(select(acc.StaffSession)).all()
        assert token not in (row.id, row.csrf)
    got = acc.resume_session(engine, token, 600, now=T0 + timedelta(seconds=30))
    assert got is not None and got[0] == view and got[1].id == ada.id
    # Seen at 30 s (not written: under a minute), so still at T0 for the idle clock.
    assert acc.resume_session(engine, token, 600, now=T0 + timedelta(seconds=601)) is None
    got = acc.resume_session(engine, token, 600, now=T0 + timedelta(seconds=590))
    assert got is not None  # refreshes last_seen_at to 590 s
    assert acc.resume_session(engine, token, 600, now=T0 + timedelta(seconds=1150)) is not None
    # Absolute expiry wins even when active.
    assert acc.resume_session(engine, token, 600, now=T0 + timedelta(seconds=3600)) is None
    assert acc.resume_session(engine, "not a token", 600) is None
    t1, _ = acc.start_session(engine, ada.id, "password", 3600)
    t2, _ = acc.start_session(engine, ada.id, "oidc", 3600)
    assert acc.end_session(engine, t1) and not acc.end_session(engine, t1)
    assert acc.resume_session(engine, t1, 600) is None
    assert acc.resume_session(engine, t2, 600) is not None
    assert acc.end_all_sessions(engine, ada.id) == 2  # t2 and the expired first one
    assert acc.resume_session(engine, t2, 600) is None


def test_disabling_an_account_ends_its_sessions(engine: Engine) -> None:
    _admin(engine)
    bob = acc.create_account(engine, "bob@example.com", "Bob", [], "test", password=PW)
    token, _ = acc.start_session(engine, bob.id, "password", 3600)
    assert acc.resume_session(engine, token, 600) is not None
    acc.set_disabled(engine, bob.id, True, "test")
    acc.set_disabled(engine, bob.id, False, "test")
    assert acc.resume_session(engine, token, 600) is None  # ended, not only hidden


# --- API keys -------------------------------------------------------------------------------


def test_api_keys_shown_once_scoped_and_revocable(engine: Engine) -> None:
    text, key = acc.create_api_key(engine, "ATS sync", ["interviews:read", "reports:read"], "test")
    prefix, key_id, secret = text[:4], text[4:16], text[17:]
    assert prefix == "hsk_" and key_id == key.id and len(key.id) == 12
    assert key.scopes == (Action.INTERVIEWS_READ, Action.REPORTS_READ)
    with Session(engine) as s:
        row = s.get(acc.ApiKey, key.id)
        assert row is not None and secret not in str(row.model_dump())
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    got = acc.check_api_key(engine, text, now=T0)
    assert got is not None and got.id == key.id and got.last_used_at == T0
    later = acc.check_api_key(engine, text, now=T0 + timedelta(seconds=30))
    assert later is not None and later.last_used_at == T0  # at most one write a minute
    altered = text[:-1] + ("A" if text[-1] != "A" else "B")
    for bad in ["", "hsk_", text + "x", altered, "hsk_000000000000_" + secret, "x" + text[1:]]:
        assert acc.check_api_key(engine, bad) is None, bad
    for scopes, says in [
        (["users:manage"], "'users:manage'"),
        (["bogus"], "'bogus'"),
        ([], "at least"),
    ]:
        with pytest.raises(AccountError, match=f"^scopes: .*{says}"):
            acc.create_api_key(engine, "k", scopes, "test")
    assert [k.id for k in acc.list_api_keys(engine)] == [key.id]
    assert acc.revoke_api_key(engine, key.id, "test").revoked_at is not None
    assert acc.check_api_key(engine, text) is None
    with pytest.raises(KeyError):
        acc.revoke_api_key(engine, "000000000000", "test")


# --- setup links ----------------------------------------------------------------------------


def test_first_admin_link_is_used_once_and_only_while_no_admin(engine: Engine) -> None:
    token = acc.create_setup_link(engine, acc.FIRST_ADMIN, now=T0)
    assert acc.link_purpose(engine, token, now=T0) == acc.FIRST_ADMIN
    with pytest.raises(AccountError, match=r"^password: "):
        acc.create_first_admin(engine, token, "ada@example.com", "Ada", "short", now=T0)
    with pytest.raises(LinkError, match="something else"):
        acc.reset_with_link(engine, token, PW, now=T0)
    ada = acc.create_first_admin(engine, token, "ada@example.com", "Ada", PW, now=T0)
    assert ada.roles == (ADMIN,) and ada.has_password
    with pytest.raises(LinkError, match="used already"):
        acc.create_first_admin(engine, token, "eve@example.com", "Eve", PW, now=T0)
    with pytest.raises(LinkError, match="used already"):
        acc.link_purpose(engine, token)
    second = acc.create_setup_link(engine, acc.FIRST_ADMIN)
    with pytest.raises(AccountConflict, match="exists already"):
        acc.create_first_admin(engine, second, "eve@example.com", "Eve", PW)
    assert acc.find_account(engine, "eve@example.com") is None
    assert acc.link_purpose(engine, second) == acc.FIRST_ADMIN  # refused: still unused
    expired = acc.create_setup_link(engine, acc.FIRST_ADMIN, ttl_s=60, now=T0)
    with pytest.raises(LinkError, match="expired"):
        acc.link_purpose(engine, expired, now=T0 + timedelta(seconds=60))
    with pytest.raises(LinkError, match="not known"):
        acc.link_purpose(engine, "bogus")
    with Session(engine) as s:
        assert token not in {row.id for row in s.exec(select(acc.SetupLink))}


def test_reset_link_sets_the_password_once(engine: Engine) -> None:
    ada = _admin(engine)
    with pytest.raises(AccountError):
        acc.create_setup_link(engine, acc.RESET)
    with pytest.raises(KeyError):
        acc.create_setup_link(engine, acc.RESET, "nobody")
    token = acc.create_setup_link(engine, acc.RESET, ada.id, now=T0)
    session_token, _ = acc.start_session(engine, ada.id, "password", 3600)
    for _ in range(5):
        acc.sign_in(engine, ada.email, "wrong password!")
    with pytest.raises(LinkError, match="expired"):
        acc.reset_with_link(engine, token, "a fresh passphrase", now=T0 + timedelta(days=1))
    view = acc.reset_with_link(engine, token, "a fresh passphrase", now=T0)
    assert view.id == ada.id and view.locked_until is None
    assert acc.resume_session(engine, session_token, 600) is None
    assert acc.sign_in(engine, ada.email, "a fresh passphrase").outcome is SignInOutcome.OK
    with pytest.raises(LinkError, match="used already"):
        acc.reset_with_link(engine, token, "another passphrase", now=T0)


def test_setup_path_and_ttl() -> None:
    assert acc.setup_path("tok-en_1") == "/account/setup#tok-en_1"  # a fragment: never sent
    assert acc.SETUP_LINK_TTL_S == 24 * 3600


def _add_link(engine: Engine, account_id: str | None, purpose: str) -> str:
    """A link row written as a concurrent creator (or an older release) could leave it."""
    token = secrets.token_urlsafe(32)
    with Session(engine) as s:
        s.add(
            acc.SetupLink(
                id=hashlib.sha256(token.encode()).hexdigest(),
                purpose=purpose,
                account_id=account_id,
                created_at=T0,
                expires_at=T0 + timedelta(days=1),
            )
        )
        s.commit()
    return token


def _live(engine: Engine, token: str) -> bool:
    try:
        acc.link_purpose(engine, token, now=T0)
    except LinkError as err:
        assert "used already" in str(err)
        return False
    return True


def test_a_new_link_a_password_or_disabling_ends_the_earlier_links(engine: Engine) -> None:
    ada = _admin(engine)
    bob = acc.create_account(engine, "bob@example.com", "Bob", [], "test")
    first = acc.create_setup_link(engine, acc.RESET, ada.id, now=T0)
    bobs = acc.create_setup_link(engine, acc.RESET, bob.id, now=T0)
    second = acc.create_setup_link(engine, acc.RESET, ada.id, now=T0)
    assert not _live(engine, first) and _live(engine, second) and _live(engine, bobs)
    # Default lifetime: SETUP_LINK_TTL_S.
    with pytest.raises(LinkError, match="expired"):
        acc.link_purpose(engine, second, now=T0 + timedelta(seconds=acc.SETUP_LINK_TTL_S))
    acc.set_password(engine, ada.id, "a brand new password", "test")
    assert not _live(engine, second) and _live(engine, bobs)
    # Using one link ends the account's others.
    used = acc.create_setup_link(engine, acc.RESET, ada.id, now=T0)
    other = _add_link(engine, ada.id, acc.RESET)
    assert _live(engine, other)
    acc.reset_with_link(engine, used, "another good password", now=T0)
    assert not _live(engine, other)
    acc.set_disabled(engine, bob.id, True, "test")
    assert not _live(engine, bobs)
    acc.set_disabled(engine, bob.id, False, "test")
    assert not _live(engine, bobs)
    trail = {e.action: e.detail for e in events_for(engine, f"account:{bob.id}")}
    assert trail["account.disabled"] == {"sessions_ended": 0, "links_ended": 1}


def test_the_first_admin_ends_the_other_first_admin_links(engine: Engine) -> None:
    links = [acc.create_setup_link(engine, acc.FIRST_ADMIN, now=T0) for _ in range(3)]
    acc.create_first_admin(engine, links[1], "ada@example.com", "Ada", PW, now=T0)
    assert not any(_live(engine, t) for t in links)


def _disable_at_once(engine: Engine, targets: list[str]) -> list[str]:
    """Disable each target from its own thread, all released together; what each got."""
    start = threading.Barrier(len(targets))
    outcomes: list[str] = []

    def disable(target: str) -> None:
        start.wait()
        try:
            acc.set_disabled(engine, target, True, "test")
            outcomes.append("disabled")
        except AccountConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=disable, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_admins_disabling_each_other_at_once_leave_one(engine: Engine) -> None:
    previous: list[str] = []
    for round_ in range(3):
        a = _admin(engine, f"a{round_}@example.com")
        b = acc.create_account(engine, f"b{round_}@example.com", "B", [ADMIN], "test")
        for survivor in previous:  # the last round's admin: only a and b are enabled now
            acc.set_disabled(engine, survivor, True, "test")
        assert _disable_at_once(engine, [a.id, b.id]) == ["disabled", "refused"]
        assert not acc.needs_first_admin(engine)
        previous = [v.id for v in acc.list_accounts(engine) if not v.disabled]
