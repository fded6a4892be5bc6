"""Who may do what: the roles people hold, the actions the API offers, and the grants between
them. This table is the access contract; the server enforces it in one place
(server/web/access.py), the README's role table is generated from it (`python -m
hr_bridge.roles`), and tests/test_access_matrix.py checks every route against it.

Two roles are scoped: a hiring manager holds the role for named requisitions (and the
interviews of those requisitions), an interviewer for named interviews or for every interview
of a named requisition. The other roles hold for the whole organisation. API keys carry
actions directly (their scopes), never roles.
"""

from __future__ import annotations

import sys
from enum import StrEnum


class Role(StrEnum):
    HR_ADMIN = "hr_admin"
    RECRUITER = "recruiter"
    HIRING_MANAGER = "hiring_manager"
    INTERVIEWER = "interviewer"
    AUDITOR = "auditor"


class Scope(StrEnum):
    """What a scoped role names: the requisitions or the interviews it holds for."""

    REQUISITION = "requisition"
    INTERVIEW = "interview"


class Action(StrEnum):
    REQUISITIONS_READ = "requisitions:read"
    REQUISITIONS_WRITE = "requisitions:write"
    CANDIDATES_WRITE = "candidates:write"
    INTERVIEWS_READ = "interviews:read"
    INTERVIEWS_WRITE = "interviews:write"
    REPORTS_READ = "reports:read"
    LIVE_WATCH = "live:watch"
    DECISIONS_READ = "decisions:read"
    DECISIONS_WRITE = "decisions:write"
    OFFERS_WRITE = "offers:write"
    EMPLOYEES_READ = "employees:read"
    EMPLOYEES_WRITE = "employees:write"
    EVENTS_READ = "events:read"
    ANALYTICS_READ = "analytics:read"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    KEYS_MANAGE = "keys:manage"


# What each action lets its holder do, for the README and the user-management page.
DESCRIPTIONS: dict[Action, str] = {
    Action.REQUISITIONS_READ: "see requisitions and their rankings",
    Action.REQUISITIONS_WRITE: "create requisitions, set match weights",
    Action.CANDIDATES_WRITE: "add or update candidate profiles",
    Action.INTERVIEWS_READ: "see interviews, their state and the candidate's background",
    Action.INTERVIEWS_WRITE: "schedule and end interviews",
    Action.REPORTS_READ: "read reports (interviewers: without the other raters' ratings)",
    Action.LIVE_WATCH: "open the live view of an interview",
    Action.DECISIONS_READ: "see recommendations, decisions and every interviewer's ratings",
    Action.DECISIONS_WRITE: "record a hiring decision",
    Action.OFFERS_WRITE: "send, withdraw and re-link job offers",
    Action.EMPLOYEES_READ: "see employees, onboarding, reviews and training",
    Action.EMPLOYEES_WRITE: "add reviews and training, act on follow-ups",
    Action.EVENTS_READ: "read the HR event feed",
    Action.ANALYTICS_READ: "validity, adverse-impact and AI-rater agreement analytics",
    Action.AUDIT_READ: "read the audit trail",
    Action.USERS_MANAGE: "add, disable and change people and their roles",
    Action.KEYS_MANAGE: "create and revoke integration API keys",
}

GRANTS: dict[Role, frozenset[Action]] = {
    Role.HR_ADMIN: frozenset(Action),
    Role.RECRUITER: frozenset(
        {
            Action.REQUISITIONS_READ,
            Action.REQUISITIONS_WRITE,
            Action.CANDIDATES_WRITE,
            Action.INTERVIEWS_READ,
            Action.INTERVIEWS_WRITE,
            Action.REPORTS_READ,
            Action.LIVE_WATCH,
            Action.DECISIONS_READ,
            Action.DECISIONS_WRITE,
            Action.OFFERS_WRITE,
        }
    ),
    Role.HIRING_MANAGER: frozenset(
        {
            Action.REQUISITIONS_READ,
            Action.INTERVIEWS_READ,
            Action.REPORTS_READ,
            Action.LIVE_WATCH,
            Action.DECISIONS_READ,
            Action.DECISIONS_WRITE,
        }
    ),
    Role.INTERVIEWER: frozenset({Action.INTERVIEWS_READ, Action.REPORTS_READ, Action.LIVE_WATCH}),
    Role.AUDITOR: frozenset({Action.ANALYTICS_READ, Action.AUDIT_READ}),
}

# The scoped roles and what each grant of them may name (exactly one of these).
SCOPED: dict[Role, frozenset[Scope]] = {
    Role.HIRING_MANAGER: frozenset({Scope.REQUISITION}),
    Role.INTERVIEWER: frozenset({Scope.INTERVIEW, Scope.REQUISITION}),
}

# Actions an integration key may carry: managing people and keys stays with people.
KEY_SCOPES: frozenset[Action] = frozenset(Action) - {Action.USERS_MANAGE, Action.KEYS_MANAGE}


def markdown_table() -> str:
    """The role x action table as Markdown (the README's copy is generated from this)."""
    roles = list(Role)
    head = "| action | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    rows = []
    for action in Action:
        cells = []
        for role in roles:
            if action not in GRANTS[role]:
                cells.append("")
            elif role in SCOPED:
                cells.append("assigned only")
            else:
                cells.append("yes")
        rows.append(f"| `{action.value}` ({DESCRIPTIONS[action]}) | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")
