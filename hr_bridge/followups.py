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
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

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


NO_NUL = r"^[^\x00]*$"
Key = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Threshold = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class RuleWhen(BaseModel):
    """Conditions by source: interview competency -> score below; review field -> at or below."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    interview: dict[Key, Threshold] | None = Field(None, min_length=1, max_length=30)
    probation: dict[Key, Threshold] | None = Field(None, min_length=1, max_length=3)
    performance: dict[Key, Threshold] | None = Field(None, min_length=1, max_length=1)


class FollowUpRule(BaseModel):
    """A rule's typed shape: only these fields are stored, so a rule cannot carry others."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
    title: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] | None = None
    course: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
    when: RuleWhen


@dataclass(frozen=True)
class Hit:
    rule_id: str
    title: str
    course: str
    evidence: dict[str, Any]


def check_rules(rules: Sequence[Mapping[str, Any] | FollowUpRule]) -> list[dict[str, Any]]:
    """Validate rules given by a person (API, rubric file): clear errors, no surprises. The
    result holds exactly id, title, course and when, whatever else a rule carried."""
    out: list[dict[str, Any]] = []
    for i, given in enumerate(rules):
        where = f"follow_up_rules[{i}]"
        if isinstance(given, FollowUpRule):
            r = given
        elif not isinstance(given, Mapping) or not given.get("id") or not given.get("course"):
            raise ValueError(f"{where}: needs 'id', 'course' and 'when'")
        else:
            try:
                r = FollowUpRule.model_validate(given)
            except ValidationError as err:
                first = err.errors()[0]
                at = ".".join(str(x) for x in first["loc"])
                raise ValueError(f"{where}.{at}: {first['msg']}") from None
        if any(o["id"] == r.id for o in out):
            raise ValueError(f"{where}: the id {r.id!r} is used twice")
        when = r.when.model_dump(exclude_none=True)
        if not when:
            raise ValueError(f"{where}.when: conditions by source (interview, probation...)")
        for source, conds in when.items():
            for field in conds:
                if source in REVIEW_FIELDS and field not in REVIEW_FIELDS[source]:
                    raise ValueError(f"{where}.when.{source}: unknown field {field!r}")
        if set(when) == {"interview"}:
            raise ValueError(f"{where}: needs a probation or performance condition too")
        out.append({"id": r.id, "title": r.title or r.id, "course": r.course, "when": when})
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
