"""Report formats for outside HR systems (pure functions over the typed report).

Each takes a Report or a stored body (validated into one), so a webhook payload built from
the stored JSON and one built from the report in hand are the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.scoring.report_model import Report, iso_seconds, load_report


def hr_xml_assessment(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    """An HR-XML (HR Open Standards) style AssessmentReport, as JSON."""
    r = load_report(report)
    return {
        "AssessmentReport": {
            "DocumentID": r.interview_id,
            "AssessmentSubject": {"PersonName": {"FormattedName": r.candidate_name}},
            "AssessmentRequisition": (
                r.requisition.model_dump(mode="json") if r.requisition else None
            ),
            "AssessmentStatus": {"Status": "Completed", "StatusDate": iso_seconds(r.generated_at)},
            "AssessmentResult": {
                "Score": {"ScoreValue": r.overall, "ScoreMinimum": 0, "ScoreMaximum": 100},
                "Competency": [
                    {
                        "CompetencyName": name,
                        "CompetencyEvidence": [
                            {
                                "EvidenceText": e.text,
                                "EvidenceType": e.kind,
                                "Start": e.start,
                                "End": e.end,
                            }
                            for e in s.evidence
                        ],
                        "CompetencyWeight": r.weights.get(name),
                        # ScoreValue null: the interview held too little evidence for a
                        # number (Status says why); never a guessed value.
                        "Score": {
                            "ScoreValue": s.value,
                            "Confidence": s.confidence,
                            "Status": s.status,
                        },
                    }
                    for name, s in r.competencies.items()
                ],
                "Flags": [f.model_dump(mode="json") for f in r.flags],
            },
            "AssessmentMethod": {
                "Name": "hirestream AI video interview",
                "RubricVersion": r.rubric_version,
                "Models": dict(r.models),
                "Note": r.decision,
            },
        }
    }


def frappe_interview_feedback(
    report: Report | Mapping[str, Any], interview: str | None = None
) -> dict[str, Any]:
    """A Frappe HRMS "Interview Feedback" document (ratings are 0-1 in Frappe's Rating field).

    `result` is left for a person: Frappe's Cleared/Rejected is a human decision."""
    r = load_report(report)
    return {
        "doctype": "Interview Feedback",
        "interview": interview or r.interview_id,
        # Frappe's Rating cannot say "no evidence": competencies without a value are named in
        # the feedback instead of being sent as 0.
        "skill_assessment": [
            {"skill": _skill(name, s.label), "rating": round(s.value / 100, 3)}
            for name, s in r.competencies.items()
            if s.value is not None
        ],
        "feedback": " ".join(_feedback(r)),
        "result": None,
    }


def _skill(name: str, label: str | None) -> str:
    return label or name.replace("_", " ").title()


def _feedback(r: Report) -> list[str]:
    overall = f"Overall {r.overall} / 100" if r.overall is not None else "Overall incomplete"
    parts = [overall, f"(hirestream, rubric {r.rubric_version})."]
    for status, say in (
        ("insufficient_evidence", "Not enough evidence"),
        ("interviewer_only", "Rated by interviewers only"),
    ):
        names = [_skill(n, s.label) for n, s in r.competencies.items() if s.status == status]
        if names:
            parts.append(f"{say}: {', '.join(names)}.")
    return parts + [f"{f.flag}." for f in r.flags]
