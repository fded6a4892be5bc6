"""Report formats for outside HR systems (pure functions over the report dict)."""

from __future__ import annotations

from typing import Any


def hr_xml_assessment(report: dict[str, Any]) -> dict[str, Any]:
    """An HR-XML (HR Open Standards) style AssessmentReport, as JSON."""
    return {
        "AssessmentReport": {
            "DocumentID": report["interview_id"],
            "AssessmentSubject": {"PersonName": {"FormattedName": report.get("candidate_name")}},
            "AssessmentRequisition": report.get("requisition"),
            "AssessmentStatus": {"Status": "Completed", "StatusDate": report["generated_at"]},
            "AssessmentResult": {
                "Score": {"ScoreValue": report["overall"], "ScoreMinimum": 0, "ScoreMaximum": 100},
                "Competency": [
                    {
                        "CompetencyName": name,
                        "CompetencyEvidence": [
                            {
                                "EvidenceText": e["text"],
                                "EvidenceType": e["kind"],
                                "Start": e["start"],
                                "End": e["end"],
                            }
                            for e in s["evidence"]
                        ],
                        "CompetencyWeight": report["weights"].get(name),
                        "Score": {"ScoreValue": s["value"], "Confidence": s["confidence"]},
                    }
                    for name, s in report["competencies"].items()
                ],
                "Flags": report["flags"],
            },
            "AssessmentMethod": {
                "Name": "hirestream AI video interview",
                "RubricVersion": report["rubric_version"],
                "Models": report["models"],
                "Note": report["decision"],
            },
        }
    }


def frappe_interview_feedback(
    report: dict[str, Any], interview: str | None = None
) -> dict[str, Any]:
    """A Frappe HRMS "Interview Feedback" document (ratings are 0-1 in Frappe's Rating field).

    `result` is left for a person: Frappe's Cleared/Rejected is a human decision."""
    return {
        "doctype": "Interview Feedback",
        "interview": interview or report["interview_id"],
        "skill_assessment": [
            {"skill": name.replace("_", " ").title(), "rating": round(s["value"] / 100, 3)}
            for name, s in report["competencies"].items()
        ],
        "feedback": (
            f"Overall {report['overall']} / 100 (hirestream, rubric {report['rubric_version']}). "
            + " ".join(f"{f['flag']}." for f in report["flags"])
        ).strip(),
        "result": None,
    }
