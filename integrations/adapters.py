"""Where a finalized report goes: the HRAdapter protocol and its implementations.

`submit()` is idempotent per interview id: submitting the same report twice stores one and
delivers one. The local store is the default and always runs; storing the report emits its
`interview.report.finalized` event, whose webhook deliveries land in the same transaction
(hr_bridge.events), so an HR system that is down (or a server restart) loses nothing; each
subscriber's payload can be hirestream's JSON, an HR-XML AssessmentReport or a Frappe HRMS
Interview Feedback (see exports.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from hr_bridge import interviews as db
from pipeline.scoring.report_model import Report


@dataclass(frozen=True)
class RecordRef:
    system: str  # "local", "webhook"
    ref: str  # the record's id in that system (here: the interview id)


class HRAdapter(Protocol):
    def submit(self, report: Report) -> RecordRef: ...


class LocalStoreAdapter:
    """The EHR store itself (blocking: call from a worker thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def submit(self, report: Report) -> RecordRef:
        db.save_report(self.engine, report.interview_id, report)
        return RecordRef("local", report.interview_id)
