"""`hirestream users`: staff accounts from the command line (add, list, disable, enable, reset).

No password ever goes on the command line: `add` and `reset` print a one-time link where the
person sets their own. Every change is audited as "operator:cli".
"""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy import Engine

from hr_bridge import accounts
from hr_bridge.accounts import AccountConflict, AccountError, AccountView, RoleGrant
from server.errors import HirestreamError
from server.resources import open_database
from server.settings import Settings

ACTOR = "operator:cli"
# How long the printed links last, in words ("24 h").
_VALID = f"{accounts.SETUP_LINK_TTL_S / 3600:g} h"


class UsersError(HirestreamError):
    """Bad input to `hirestream users` (unknown email, bad role, a refused change)."""


def run_users(settings: Settings, args: argparse.Namespace) -> int:
    engine = open_database(settings)
    try:
        return _run(engine, settings.effective_public_url, args)
    except (AccountError, AccountConflict) as err:
        raise UsersError(str(err)) from None
    finally:
        engine.dispose()


def _run(engine: Engine, public_url: str, args: argparse.Namespace) -> int:
    command: str = args.users_command
    if command == "list":
        print(format_table(accounts.list_accounts(engine)))
        return 0
    if command == "add":
        roles = [RoleGrant.parse(text) for text in args.role]
        view = accounts.create_account(engine, args.email, args.name, roles, ACTOR)
        print(f"account {view.email} created ({_roles(view)})")
        _print_link(engine, public_url, view)
        return 0
    view = _find(engine, args.email)
    if command in ("disable", "enable"):
        view = accounts.set_disabled(engine, view.id, command == "disable", ACTOR)
        print(f"account {view.email} {'disabled' if view.disabled else 'enabled'}")
        return 0
    ended = accounts.end_all_sessions(engine, view.id)
    accounts.clear_lockout(engine, view.id, ACTOR)
    if args.totp:
        accounts.disable_totp(engine, view.id, ACTOR)
    removed = "; second factor removed" if args.totp and view.totp_enabled else ""
    print(f"account {view.email}: {ended} session(s) ended, lockout cleared{removed}")
    _print_link(engine, public_url, view)
    return 0


def _find(engine: Engine, email: str) -> AccountView:
    view = accounts.find_account(engine, email)
    if view is None:
        raise UsersError(f"no account with email {email.strip().lower()!r}")
    return view


def _print_link(engine: Engine, public_url: str, view: AccountView) -> None:
    token = accounts.create_setup_link(
        engine, accounts.RESET, view.id, ttl_s=accounts.SETUP_LINK_TTL_S, actor=ACTOR
    )
    print(f"set-password link for {view.email} (valid {_VALID}, once; give it to them only):")
    print(f"{public_url}{accounts.setup_path(token)}")


def first_run_message(engine: Engine, public_url: str) -> str | None:
    """While no enabled account holds hr_admin: a new first-admin link (one use) in a line
    for the operator's terminal (never the log: the link is a credential). None otherwise."""
    if not accounts.needs_first_admin(engine):
        return None
    token = accounts.create_setup_link(
        engine, accounts.FIRST_ADMIN, ttl_s=accounts.SETUP_LINK_TTL_S
    )
    return (
        f"First run: create the first HR admin at {public_url}{accounts.setup_path(token)} "
        f"(valid {_VALID}, once)."
    )


def _roles(view: AccountView) -> str:
    return ", ".join(g.label() for g in view.roles) or "no roles"


def _when(at: datetime | None) -> str:
    return "never" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def format_table(views: list[AccountView]) -> str:
    """One line per account: email, name, roles, disabled, TOTP, last sign-in."""
    head = ("email", "name", "roles", "disabled", "TOTP", "last sign-in")
    rows = [
        (v.email, v.name, _roles(v), "yes" if v.disabled else "no",
         "on" if v.totp_enabled else "off", _when(v.last_sign_in_at))
        for v in views
    ]  # fmt: skip
    if not rows:
        return "no accounts yet"
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (head, *rows)
    )
