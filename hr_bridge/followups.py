"""Follow-up rules: interview signals and later reviews that together suggest an action.

A rule, as stored on a requisition (`follow_up_rules`) or from DEFAULT_RULES:

    {"id": "teamwork", "title": "...", "course": "Teamwork in practice",
     "when": {"interview": {"teamwork": 60}, "probation": {"peer_rating": 2}}}

It fires when every condition holds: an interview competency *below* its threshold, a
probation or performance review field *at or below* its threshold (ratings are 1-5,
task_completion is a percentage). A condition without data never holds, so a rule only fires
on evidence, and the follow-up keeps that evidence: the interview score with its evidence
spans and the review's values. A suggestion, not a verdict: a person accepts or dismisses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REVIEW_FIELDS = {
    "probation": ("manager_rating", "peer_rating", "task_completion"),
    "performance": ("rating",),
}

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "id": "teamwork",
        "title": "Low teamwork in the interview and a low team rating in probation",
        "course": "Teamwork in practice",
        "when": {"interview": {"teamwork": 60}, "probation": {"peer_rating": 2}},
    },
    {
        "id": "communication",
        "title": "Weak interview communication and a low peer rating in probation",
        "course": "Clear communication at work",
        "when": {"interview": {"communication": 55}, "probation": {"peer_rating": 2}},
    },
    {
        "id": "job-knowledge",
        "title": "Gaps in job knowledge at interview and unfinished probation tasks",
        "course": "Role fundamentals",
        "when": {"interview": {"job_knowledge": 55}, "probation": {"task_completion": 70}},
    },
    {
        "id": "composure",
        "title": "Low composure at interview and a low manager rating in probation",
        "course": "Working under pressure: prioritisation and stress management",
        "when": {"interview": {"composure": 50}, "probation": {"manager_rating": 2}},
    },
    {
        "id": "structure",
        "title": "Unstructured answers at interview and a low performance rating",
        "course": "Structured problem solving",
        "when": {"interview": {"logical_structure": 50}, "performance": {"rating": 2}},
    },
)


@dataclass(frozen=True)
class Hit:
    rule_id: str
    title: str
    course: str
    evidence: dict[str, Any]


def check_rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate rules given by a person (API, rubric file): clear errors, no surprises."""
    out: list[dict[str, Any]] = []
    for i, r in enumerate(rules):
        where = f"follow_up_rules[{i}]"
        if not isinstance(r, Mapping) or not r.get("id") or not r.get("course"):
            raise ValueError(f"{where}: needs 'id', 'course' and 'when'")
        if any(o["id"] == str(r["id"]) for o in out):
            raise ValueError(f"{where}: the id {r['id']!r} is used twice")
        when = r.get("when")
        if not isinstance(when, Mapping) or not when:
            raise ValueError(f"{where}.when: conditions by source (interview, probation...)")
        for source, conds in when.items():
            if source != "interview" and source not in REVIEW_FIELDS:
                raise ValueError(f"{where}.when: unknown source {source!r}")
            if not isinstance(conds, Mapping) or not conds:
                raise ValueError(f"{where}.when.{source}: field -> threshold")
            for field, limit in conds.items():
                if source in REVIEW_FIELDS and field not in REVIEW_FIELDS[source]:
                    raise ValueError(f"{where}.when.{source}: unknown field {field!r}")
                if not isinstance(limit, int | float):
                    raise ValueError(f"{where}.when.{source}.{field}: a number")
        if set(when) == {"interview"}:
            raise ValueError(f"{where}: needs a probation or performance condition too")
        out.append({"id": str(r["id"]), "title": str(r.get("title") or r["id"]), **r})
    return out


def evaluate(
    rules: Sequence[Mapping[str, Any]],
    competencies: Mapping[str, Mapping[str, Any]],
    reviews: Mapping[str, Mapping[str, Any]],
) -> list[Hit]:
    """The rules that fire. `competencies`: the report's ({name: {"value", "evidence"}});
    `reviews`: the newest review per source ({"probation": {...}, "performance": {...}})."""
    hits = []
    for rule in rules:
        evidence: dict[str, Any] = {}
        ok = True
        for source, conds in rule["when"].items():
            for field, limit in conds.items():
                if source == "interview":
                    score = competencies.get(field)
                    if score is None or float(score["value"]) >= float(limit):
                        ok = False
                        break
                    evidence.setdefault("interview", []).append(
                        {
                            "competency": field,
                            "value": score["value"],
                            "below": limit,
                            "evidence": list(score.get("evidence") or [])[:3],
                        }
                    )
                else:
                    review = reviews.get(source)
                    value = None if review is None else review.get(field)
                    if value is None or float(value) > float(limit):
                        ok = False
                        break
                    evidence.setdefault(source, []).append(
                        {
                            "review_id": review.get("id") if review else None,
                            "field": field,
                            "value": value,
                            "at_or_below": limit,
                        }
                    )
            if not ok:
                break
        if ok:
            hits.append(Hit(rule["id"], rule.get("title", rule["id"]), rule["course"], evidence))
    return hits
