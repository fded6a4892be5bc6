"""Follow-up rules: interview signals and later reviews that together suggest an action.

A rule, as stored on a requisition (`follow_up_rules`) or from DEFAULT_RULES:

    {"id": "listening", "title": "...", "course": "Active listening",
     "when": {"interview": {"communication": {">=": 80}},
              "probation": {"feedback": {"mentions": ["too forceful", "打断别人"]}}}}

It fires when every condition holds. A condition is one of:

- a bare number, the stored form from before operators: an interview competency *below* it,
  a review field *at or below* it (`{"teamwork": 60}`, `{"peer_rating": 2}`);
- comparisons `{"<" | "<=" | ">" | ">=": number}`, all of which must hold
  (`{">=": 60, "<": 80}` is a band). Interview scores are 0-100; review ratings 1-5;
  task_completion a percentage;
- on a review's free text only: `{"mentions": [phrases]}`, any phrase present (case-
  insensitive, whole words for spaced scripts, plain substrings for Chinese/Japanese);
  `{"similar_to": text, "min_similarity": 0.3}`, some sentence of the text scoring at least
  that with the injected `similarity` callable (a sentence-embedding model). Without the
  callable a similar_to condition does not hold, and the outcome says so.

Review text fields: probation `manager_feedback`, performance `notes`; `feedback` names all of
a review's text fields. A condition without data never holds, so a rule only fires on
evidence, and the follow-up keeps that evidence: the interview score with its evidence spans,
the review's values, the phrase that matched and the sentence it is in. A phrase match does
not read negation ("never interrupts" mentions "interrupts"): a follow-up is a suggestion,
not a verdict, and a person accepts or dismisses it.
"""

from __future__ import annotations

import logging
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

log = logging.getLogger(__name__)

Similarity = Callable[[str, str], float]  # (condition text, feedback sentence) -> 0-1

NUMERIC_FIELDS = {
    "probation": ("manager_rating", "peer_rating", "task_completion"),
    "performance": ("rating",),
}
TEXT_FIELDS = {"probation": ("manager_feedback",), "performance": ("notes",)}
ALL_TEXT = "feedback"  # every text field of the review
REVIEW_FIELDS = {
    source: (*NUMERIC_FIELDS[source], *TEXT_FIELDS[source], ALL_TEXT) for source in NUMERIC_FIELDS
}
# The values a field can take: a threshold outside them is a mistake, not a rule.
FIELD_RANGE = {
    "manager_rating": (1.0, 5.0),
    "peer_rating": (1.0, 5.0),
    "rating": (1.0, 5.0),
    "task_completion": (0.0, 100.0),
}
SCORE_RANGE = (0.0, 100.0)  # interview competencies

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# With the product's sentence encoder (USE multilingual), feedback that paraphrases a
# condition scores 0.3-0.5 ("talks over her colleagues in every meeting" vs "dominates
# conversations and does not listen": 0.32; the same in Chinese: 0.45), unrelated feedback
# 0.05-0.1.
DEFAULT_MIN_SIMILARITY = 0.3
MAX_SENTENCES = 50  # similarity calls per text condition

# Forcefulness and not listening, as peers and managers write it.
FORCEFUL = [
    "too forceful", "overly forceful", "domineering", "overbearing", "pushy",
    "interrupts", "interrupting", "talks over", "does not listen", "doesn't listen",
    "not listening", "never listens", "won't listen", "dominates conversations",
    "dominates meetings", "dominates discussions",
    "太强势", "过于强势", "咄咄逼人", "不倾听", "不听取", "听不进", "不听别人",
    "打断别人", "总是打断", "经常打断", "一言堂",
]  # fmt: skip

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
    {
        "id": "listening",
        "title": "Strong interview communication, but probation feedback says forceful or "
        "not listening",
        "course": "Active listening",
        "when": {
            "interview": {"communication": {">=": 80}},
            "probation": {ALL_TEXT: {"mentions": FORCEFUL}},
        },
    },
)

CONDITION_HELP = (
    "a condition is a number (the stored form: interview below, review at or below), "
    "{op: number} with op one of <, <=, >, >=, {'mentions': [phrases]} or "
    "{'similar_to': text, 'min_similarity': 0-1}"
)


def _number(value: Any, what: str = "threshold") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")
    return float(value)


def _phrases(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("'mentions' takes a list of phrases, e.g. ['too forceful']")
    if not value:
        raise ValueError("'mentions' needs at least one phrase")
    if len(value) > 50:
        raise ValueError("'mentions' takes at most 50 phrases")
    out: list[str] = []
    seen: set[str] = set()
    for p in value:
        if not isinstance(p, str) or "\x00" in p or not normalise(p) or len(p) > 200:
            raise ValueError(f"'mentions': {p!r} is not a phrase (1-200 characters)")
        if normalise(p) not in seen:
            seen.add(normalise(p))
            out.append(p.strip())
    return out


def parse_condition(value: Any) -> float | dict[str, Any]:
    """One condition in its stored form, or ValueError saying what is wrong with it."""
    if not isinstance(value, Mapping):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(CONDITION_HELP)
        return _number(value)
    if not value:
        raise ValueError(f"empty condition: {CONDITION_HELP}")
    keys = set(value)
    if "mentions" in keys:
        if keys != {"mentions"}:
            raise ValueError(f"'mentions' stands alone; unexpected {sorted(keys - {'mentions'})}")
        return {"mentions": _phrases(value["mentions"])}
    if "similar_to" in keys:
        extra = keys - {"similar_to", "min_similarity"}
        if extra:
            raise ValueError(
                f"'similar_to' takes only 'min_similarity'; unexpected {sorted(extra)}"
            )
        text = value["similar_to"]
        if not isinstance(text, str) or "\x00" in text or not text.strip() or len(text) > 500:
            raise ValueError("'similar_to' takes a text of 1-500 characters")
        least = _number(value.get("min_similarity", DEFAULT_MIN_SIMILARITY), "min_similarity")
        if not 0 < least <= 1:
            raise ValueError(f"min_similarity must be above 0 and at most 1, got {least:g}")
        return {"similar_to": text.strip(), "min_similarity": least}
    ops: dict[str, Any] = {}
    for op, limit in value.items():
        if op not in OPS:
            raise ValueError(
                f"unknown operator {op!r}: use <, <=, >, >=, 'mentions' or 'similar_to'"
            )
        ops[op] = _number(limit)
    return ops


def is_text(cond: float | Mapping[str, Any]) -> bool:
    return isinstance(cond, Mapping) and ("mentions" in cond or "similar_to" in cond)


CONDITION_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "number", "description": "interview score below / review value at or below"},
        {
            "type": "object",
            "propertyNames": {"enum": list(OPS)},
            "additionalProperties": {"type": "number"},
            "minProperties": 1,
            "description": "every comparison holds",
        },
        {
            "type": "object",
            "properties": {
                "mentions": {"type": "array", "items": {"type": "string"}, "minItems": 1}
            },
            "required": ["mentions"],
            "additionalProperties": False,
            "description": "review text mentions any phrase (case-insensitive)",
        },
        {
            "type": "object",
            "properties": {
                "similar_to": {"type": "string"},
                "min_similarity": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            },
            "required": ["similar_to"],
            "additionalProperties": False,
            "description": "a sentence of the review text is this similar (embedding model)",
        },
    ]
}
Condition = Annotated[
    float | dict[str, Any], PlainValidator(parse_condition), WithJsonSchema(CONDITION_SCHEMA)
]

NO_NUL = r"^[^\x00]*$"
Key = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]


class RuleWhen(BaseModel):
    """Conditions by source: interview competency or review field -> condition."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    interview: dict[Key, Condition] | None = Field(None, min_length=1, max_length=30)
    probation: dict[Key, Condition] | None = Field(
        None, min_length=1, max_length=len(REVIEW_FIELDS["probation"])
    )
    performance: dict[Key, Condition] | None = Field(
        None, min_length=1, max_length=len(REVIEW_FIELDS["performance"])
    )


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


@dataclass(frozen=True)
class Outcome:
    """One rule on one employee: fired with its evidence, or why not (the first condition
    that does not hold)."""

    rule_id: str
    title: str
    course: str
    fired: bool
    evidence: dict[str, Any]
    why: str | None = None


def _check_condition(source: str, field: str, cond: float | dict[str, Any]) -> None:
    """What a condition may say about this field: numbers in the field's range for scores
    and ratings, mentions/similar_to for text."""
    text_field = source != "interview" and (field == ALL_TEXT or field in TEXT_FIELDS[source])
    if text_field and not is_text(cond):
        raise ValueError(f"{field!r} is free text: use 'mentions' or 'similar_to'")
    if not text_field and is_text(cond):
        what = "an interview score" if source == "interview" else "a number"
        raise ValueError(f"{field!r} is {what}: compare it with a number (<, <=, >, >=)")
    if text_field:
        return
    lo, hi = SCORE_RANGE if source == "interview" else FIELD_RANGE[field]
    limits = cond.values() if isinstance(cond, dict) else [cond]
    for limit in limits:
        if not lo <= limit <= hi:
            raise ValueError(f"threshold {limit:g} is outside {field}'s range {lo:g}-{hi:g}")


def check_rules(rules: Sequence[Mapping[str, Any] | FollowUpRule]) -> list[dict[str, Any]]:
    """Validate rules given by a person (API, rubric file): clear errors, no surprises. The
    result holds exactly id, title, course and when (conditions in their stored form),
    whatever else a rule carried."""
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
                msg = str(first["msg"]).removeprefix("Value error, ")
                raise ValueError(f"{where}.{at}: {msg}") from None
        if any(o["id"] == r.id for o in out):
            raise ValueError(f"{where}: the id {r.id!r} is used twice")
        when = r.when.model_dump(exclude_none=True)
        if not when:
            raise ValueError(f"{where}.when: conditions by source (interview, probation...)")
        for source, conds in when.items():
            for field, cond in conds.items():
                if source in REVIEW_FIELDS and field not in REVIEW_FIELDS[source]:
                    known = ", ".join(REVIEW_FIELDS[source])
                    raise ValueError(
                        f"{where}.when.{source}: unknown field {field!r} (one of {known})"
                    )
                try:
                    _check_condition(source, field, cond)
                except ValueError as err:
                    raise ValueError(f"{where}.when.{source}.{field}: {err}") from None
        if set(when) == {"interview"}:
            raise ValueError(f"{where}: needs a probation or performance condition too")
        out.append({"id": r.id, "title": r.title or r.id, "course": r.course, "when": when})
    return out


# Text matching. Text and phrases are compared in one normal form: NFKC (full-width letters
# become ASCII), case-folded, typographic apostrophes straight, hyphens and runs of spaces one
# space, so "Too-Forceful" mentions "too forceful" and "doesn’t listen" "doesn't listen".
_FOLD = str.maketrans({"’": "'", "‘": "'", "-": " ", "‐": " ", "–": " ", "—": " ", "_": " "})
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；…])\s*|\s*\n+\s*")


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().translate(_FOLD).split())


def _unspaced_script(c: str) -> bool:
    """Han, kana and CJK punctuation: scripts written without spaces between words."""
    o = ord(c)
    return 0x3000 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF


def _word_char(c: str) -> bool:
    return c.isalnum() and not _unspaced_script(c)


def mentions(phrase: str, text: str) -> bool:
    """Whether normalised `text` holds normalised `phrase`: as whole words where the phrase
    starts or ends with a letter of a spaced script ("interrupts" is not in "uninterrupts"),
    as a plain substring for Chinese."""
    start = 0
    while (i := text.find(phrase, start)) >= 0:
        end = i + len(phrase)
        cut_before = _word_char(phrase[0]) and i > 0 and _word_char(text[i - 1])
        cut_after = _word_char(phrase[-1]) and end < len(text) and _word_char(text[end])
        if not cut_before and not cut_after:
            return True
        start = i + 1
    return False


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _excerpt(sentence: str) -> str:
    return sentence if len(sentence) <= 300 else sentence[:299] + "…"


@dataclass(frozen=True)
class _Check:
    evidence: dict[str, Any] | None  # None: the condition does not hold
    why: str = ""


def _compare(value: float, cond: float | dict[str, Any], legacy_op: str) -> bool:
    ops = {legacy_op: cond} if not isinstance(cond, dict) else cond
    return all(OPS[op](value, float(limit)) for op, limit in ops.items())


def _describe(cond: float | dict[str, Any], legacy_op: str) -> str:
    ops = {legacy_op: cond} if not isinstance(cond, dict) else cond
    return " and ".join(f"{op} {float(limit):g}" for op, limit in ops.items())


def _interview(field: str, cond: Any, competencies: Mapping[str, Mapping[str, Any]]) -> _Check:
    score = competencies.get(field)
    if score is None or score.get("value") is None:
        return _Check(None, f"no interview score for {field!r}")
    value = float(score["value"])
    if not _compare(value, cond, "<"):
        return _Check(None, f"interview {field} {value:g} is not {_describe(cond, '<')}")
    ev: dict[str, Any] = {"competency": field, "value": score["value"]}
    ev |= {"below": cond} if not isinstance(cond, dict) else {"condition": cond}
    return _Check(ev | {"evidence": list(score.get("evidence") or [])[:3]})


def _review_number(source: str, field: str, cond: Any, review: Mapping[str, Any]) -> _Check:
    value = review.get(field)
    if value is None:
        return _Check(None, f"the {source} review has no {field}")
    if not _compare(float(value), cond, "<="):
        return _Check(None, f"{source} {field} {value:g} is not {_describe(cond, '<=')}")
    ev: dict[str, Any] = {"review_id": review.get("id"), "field": field, "value": value}
    return _Check(
        ev | ({"at_or_below": cond} if not isinstance(cond, dict) else {"condition": cond})
    )


def _review_text(
    source: str,
    field: str,
    cond: dict[str, Any],
    review: Mapping[str, Any],
    similarity: Similarity | None,
) -> _Check:
    fields = TEXT_FIELDS[source] if field == ALL_TEXT else (field,)
    texts = [(f, t) for f in fields if isinstance(t := review.get(f), str) and t.strip()]
    if not texts:
        return _Check(None, f"the {source} review has no {field} text")
    base = {"review_id": review.get("id")}
    if "mentions" in cond:
        for f, text in texts:
            for sentence in sentences(text):
                norm = normalise(sentence)
                found = [p for p in cond["mentions"] if mentions(normalise(p), norm)]
                if found:
                    return _Check(
                        base | {"field": f, "mentions": found, "excerpt": _excerpt(sentence)}
                    )
        return _Check(None, f"the {source} {field} mentions none of the phrases")
    if similarity is None:
        return _Check(None, "similar_to needs a similarity model and none was given")
    target, least = cond["similar_to"], float(cond["min_similarity"])
    best: tuple[float, str, str] | None = None
    for f, text in texts:
        for sentence in sentences(text)[:MAX_SENTENCES]:
            score = float(similarity(target, sentence))
            if math.isfinite(score) and (best is None or score > best[0]):
                best = (score, f, sentence)
    if best is None:
        return _Check(None, "the similarity model gave no usable score")
    score, f, sentence = best
    if score < least:
        return _Check(None, f"the closest {source} sentence scores {score:.2f}, below {least:g}")
    return _Check(
        base
        | {
            "field": f,
            "similar_to": target,
            "similarity": round(score, 3),
            "min_similarity": least,
            "excerpt": _excerpt(sentence),
        }
    )


def assess(
    rules: Sequence[Mapping[str, Any]],
    competencies: Mapping[str, Mapping[str, Any]],
    reviews: Mapping[str, Mapping[str, Any]],
    similarity: Similarity | None = None,
) -> list[Outcome]:
    """Every rule's outcome: fired with its evidence, or the first reason it did not.
    `competencies`: the report's ({name: {"value", "evidence"}}); `reviews`: the newest review
    per source ({"probation": {...}, "performance": {...}}); `similarity`: scores two texts
    0-1 for similar_to conditions, which are checked last (a model call each sentence)."""
    out = []
    for rule in rules:
        conds = [(s, f, c) for s, fc in rule["when"].items() for f, c in fc.items()]
        conds.sort(key=lambda sfc: isinstance(sfc[2], dict) and "similar_to" in sfc[2])
        evidence: dict[str, Any] = {}
        why = None
        for source, field, cond in conds:
            review = reviews.get(source)
            if source == "interview":
                check = _interview(field, cond, competencies)
            elif review is None:
                check = _Check(None, f"no {source} review")
            elif is_text(cond):
                check = _review_text(source, field, cond, review, similarity)
            else:
                check = _review_number(source, field, cond, review)
            if check.evidence is None:
                why = check.why
                if similarity is None and is_text(cond) and "similar_to" in cond:
                    log.info("follow-up rule %r: no similarity model for similar_to", rule["id"])
                break
            evidence.setdefault(source, []).append(check.evidence)
        title = rule.get("title") or rule["id"]
        out.append(
            Outcome(
                rule["id"], title, rule["course"], why is None, evidence if why is None else {}, why
            )
        )
    return out


def evaluate(
    rules: Sequence[Mapping[str, Any]],
    competencies: Mapping[str, Mapping[str, Any]],
    reviews: Mapping[str, Mapping[str, Any]],
    similarity: Similarity | None = None,
) -> list[Hit]:
    """The rules that fire (assess for why the others do not)."""
    return [
        Hit(o.rule_id, o.title, o.course, o.evidence)
        for o in assess(rules, competencies, reviews, similarity)
        if o.fired
    ]
