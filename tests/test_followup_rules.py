"""Follow-up rule language: the stored form, comparison operators, text conditions on review
feedback (phrases in en and zh, similarity through an injected callable) and validation."""

from __future__ import annotations

from typing import Any

import pytest

from hr_bridge import followups

FORCEFUL_EN = "Delivers on time. Peers find him Too-Forceful in design reviews and he interrupts."
FORCEFUL_ZH = "按时完成任务。同事反映他开会时经常打断别人，不太倾听。"


def comp(**scores: float) -> dict[str, dict[str, Any]]:
    return {k: {"value": v, "evidence": [{"text": f"about {k}"}]} for k, v in scores.items()}


def probation(feedback: str = "", **fields: float) -> dict[str, dict[str, Any]]:
    base = {"id": 7, "manager_rating": 4.0, "peer_rating": 4.0, "task_completion": 90.0}
    return {"probation": base | {"manager_feedback": feedback} | fields}


def rule(when: dict[str, Any], rid: str = "r") -> list[dict[str, Any]]:
    return followups.check_rules([{"id": rid, "course": "c", "when": when}])


def fired(rules: list[dict[str, Any]], *args: Any, **kw: Any) -> list[str]:
    return [h.rule_id for h in followups.evaluate(rules, *args, **kw)]


def listening() -> list[dict[str, Any]]:
    return [r for r in followups.check_rules(followups.DEFAULT_RULES) if r["id"] == "listening"]


def test_the_stored_form_still_means_below_and_at_or_below() -> None:
    rules = rule({"interview": {"teamwork": 60}, "probation": {"peer_rating": 2}})
    assert rules[0]["when"] == {"interview": {"teamwork": 60.0}, "probation": {"peer_rating": 2.0}}
    assert fired(rules, comp(teamwork=59.9), probation(peer_rating=2)) == ["r"]
    assert fired(rules, comp(teamwork=60), probation(peer_rating=2)) == []  # not below
    assert fired(rules, comp(teamwork=40), probation(peer_rating=2.5)) == []  # above
    (hit,) = followups.evaluate(rules, comp(teamwork=40), probation(peer_rating=1))
    assert hit.evidence["interview"][0]["below"] == 60
    assert hit.evidence["probation"] == [
        {"review_id": 7, "field": "peer_rating", "value": 1, "at_or_below": 2}
    ]


@pytest.mark.parametrize(
    ("op", "holds", "fails"),
    [("<", 84.9, 85), ("<=", 85, 85.1), (">", 85.1, 85), (">=", 85, 84.9)],
)
def test_each_operator_on_interview_scores(op: str, holds: float, fails: float) -> None:
    rules = rule({"interview": {"communication": {op: 85}}, "probation": {"peer_rating": 5}})
    assert fired(rules, comp(communication=holds), probation()) == ["r"]
    assert fired(rules, comp(communication=fails), probation()) == []


@pytest.mark.parametrize(
    ("op", "holds", "fails"), [("<", 2.5, 3), ("<=", 3, 3.5), (">", 3.5, 3), (">=", 3, 2.5)]
)
def test_each_operator_on_review_fields(op: str, holds: float, fails: float) -> None:
    rules = rule({"interview": {"communication": 100}, "probation": {"peer_rating": {op: 3}}})
    assert fired(rules, comp(communication=50), probation(peer_rating=holds)) == ["r"]
    assert fired(rules, comp(communication=50), probation(peer_rating=fails)) == []
    (hit,) = followups.evaluate(rules, comp(communication=50), probation(peer_rating=holds))
    assert hit.evidence["probation"][0]["condition"] == {op: 3}


def test_a_band_needs_every_comparison() -> None:
    rules = rule({"interview": {"composure": {">=": 60, "<": 80}}, "performance": {"rating": 2}})
    reviews = {"performance": {"id": 1, "rating": 2.0, "notes": ""}}
    assert fired(rules, comp(composure=70), reviews) == ["r"]
    assert fired(rules, comp(composure=80), reviews) == []
    assert fired(rules, comp(composure=59), reviews) == []


def test_the_forceful_case_fires_with_its_evidence() -> None:
    (o,) = followups.assess(listening(), comp(communication=90), probation(FORCEFUL_EN))
    assert o.fired and o.course == "Active listening"
    assert o.evidence["interview"][0]["value"] == 90
    assert o.evidence["interview"][0]["condition"] == {">=": 80}
    text = o.evidence["probation"][0]
    assert text["field"] == "manager_feedback" and text["review_id"] == 7
    assert text["mentions"] == ["too forceful", "interrupts"]
    assert text["excerpt"] == "Peers find him Too-Forceful in design reviews and he interrupts."


def test_a_low_communication_candidate_does_not_get_the_listening_course() -> None:
    (o,) = followups.assess(listening(), comp(communication=62), probation(FORCEFUL_EN))
    assert not o.fired and o.evidence == {}
    assert o.why == "interview communication 62 is not >= 80"


def test_chinese_feedback_matches_chinese_phrases() -> None:
    (o,) = followups.assess(listening(), comp(communication=85), probation(FORCEFUL_ZH))
    assert o.fired
    assert o.evidence["probation"][0]["mentions"] == ["打断别人", "经常打断"]
    assert o.evidence["probation"][0]["excerpt"] == "同事反映他开会时经常打断别人，不太倾听。"


def test_phrases_match_whole_words_only_and_other_feedback_does_not_fire() -> None:
    calm = "Listens well, never pushes. Uninterrupted focus; a pushyness-free team player."
    assert fired(listening(), comp(communication=90), probation(calm)) == []
    assert not followups.mentions("interrupts", "uninterrupts")
    assert followups.mentions("pushy", followups.normalise("Quite PUSHY, at times"))
    assert followups.mentions("doesn't listen", followups.normalise("He doesn’t listen."))
    assert followups.mentions("强势", followups.normalise("他太强势了"))


def test_a_condition_without_data_never_holds() -> None:
    rules = listening()
    assert fired(rules, {}, probation(FORCEFUL_EN)) == []
    assert fired(rules, comp(communication=90), {}) == []
    (o,) = followups.assess(rules, comp(communication=90), probation("   "))
    assert o.why == "the probation review has no feedback text"


def test_performance_notes_are_its_feedback() -> None:
    rules = rule(
        {
            "interview": {"communication": {">=": 0}},
            "performance": {"notes": {"mentions": ["rude"]}},
        }
    )
    reviews = {"performance": {"id": 3, "rating": 4.0, "notes": "Often RUDE to clients."}}
    (hit,) = followups.evaluate(rules, comp(communication=10), reviews)
    assert hit.evidence["performance"][0]["field"] == "notes"


def overlap(a: str, b: str) -> float:
    """A plain word-overlap similarity (Jaccard), standing in for a sentence embedding."""
    x, y = set(followups.normalise(a).split()), set(followups.normalise(b).split())
    return len(x & y) / len(x | y) if x | y else 0.0


SIMILAR = {
    "interview": {"communication": {">=": 80}},
    "probation": {"feedback": {"similar_to": "dominates conversations and does not listen"}},
}


def test_similar_to_uses_the_injected_similarity_per_sentence() -> None:
    rules = rule(SIMILAR)
    assert rules[0]["when"]["probation"]["feedback"]["min_similarity"] == 0.3  # the default
    rules = rule(
        {
            "probation": {
                "feedback": {
                    "similar_to": "dominates conversations and does not listen",
                    "min_similarity": 0.6,
                }
            },
            "interview": {"communication": {">=": 80}},
        }
    )
    feedback = "Great output. He dominates conversations and does not listen to juniors."
    (o,) = followups.assess(rules, comp(communication=88), probation(feedback), overlap)
    assert o.fired
    ev = o.evidence["probation"][0]
    assert ev["excerpt"] == "He dominates conversations and does not listen to juniors."
    assert ev["similarity"] == pytest.approx(6 / 9, abs=1e-3) and ev["min_similarity"] == 0.6
    (o,) = followups.assess(rules, comp(communication=88), probation("Kind."), overlap)
    assert not o.fired and "below 0.6" in (o.why or "")


def test_similar_to_without_a_model_does_not_hold_and_says_why() -> None:
    feedback = "He dominates conversations and does not listen."
    (o,) = followups.assess(rule(SIMILAR), comp(communication=88), probation(feedback))
    assert not o.fired
    assert o.why == "similar_to needs a similarity model and none was given"


def test_similarity_is_not_called_when_a_cheaper_condition_fails() -> None:
    calls: list[str] = []

    def counting(a: str, b: str) -> float:
        calls.append(b)
        return 1.0

    # The similar_to condition comes first in the rule but is checked last.
    when = {"probation": SIMILAR["probation"], "interview": SIMILAR["interview"]}
    assert fired(rule(when), comp(communication=20), probation("a. b."), counting) == []
    assert calls == []
    assert fired(rule(when), comp(communication=90), probation("a. b."), counting) == ["r"]
    assert calls == ["a.", "b."]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            {"interview": {"communication": {"=>": 85}}, "probation": {"peer_rating": 2}},
            "interview.communication: unknown operator '=>'",
        ),
        (
            {"interview": {"communication": 90}, "probation": {"feedback": {"mentions": []}}},
            "probation.feedback: 'mentions' needs at least one phrase",
        ),
        (
            {"interview": {"c": 90}, "probation": {"feedback": {"mentions": "forceful"}}},
            "'mentions' takes a list of phrases",
        ),
        (
            {"interview": {"c": 90}, "probation": {"feedback": {"mentions": ["  "]}}},
            "is not a phrase",
        ),
        (
            {"interview": {"c": 120}, "probation": {"peer_rating": 2}},
            "threshold 120 is outside c's range 0-100",
        ),
        (
            {"interview": {"c": 90}, "probation": {"peer_rating": {"<=": 6}}},
            "threshold 6 is outside peer_rating's range 1-5",
        ),
        (
            {"interview": {"c": 90}, "probation": {"peer_rating": "NaN"}},
            "a condition is a number",
        ),
        (
            {"interview": {"c": 90}, "probation": {"peer_rating": True}},
            "a condition is a number",
        ),
        (
            {"interview": {"c": {}}, "probation": {"peer_rating": 2}},
            "empty condition",
        ),
        (
            {"interview": {"c": {"mentions": ["x"]}}, "probation": {"peer_rating": 2}},
            "'c' is an interview score",
        ),
        (
            {"interview": {"c": 90}, "probation": {"manager_feedback": 3}},
            "'manager_feedback' is free text",
        ),
        (
            {"interview": {"c": 90}, "probation": {"peer_rating": {"mentions": ["x"]}}},
            "'peer_rating' is a number",
        ),
        (
            {
                "interview": {"c": 90},
                "probation": {"feedback": {"similar_to": "x", "min_similarity": 0}},
            },
            "min_similarity must be above 0 and at most 1",
        ),
        (
            {"interview": {"c": 90}, "probation": {"feedback": {"similar_to": ""}}},
            "'similar_to' takes a text",
        ),
        (
            {"interview": {"c": 90}, "probation": {"feedback": {"mentions": ["x"], "<": 2}}},
            "'mentions' stands alone",
        ),
        (
            {"interview": {"c": 90}, "performance": {"manager_feedback": {"mentions": ["x"]}}},
            "unknown field 'manager_feedback'",
        ),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(when: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^follow_up_rules\[0\]") as err:
        rule(when)
    assert message in str(err.value)


def test_the_default_rules_are_valid_and_kept_as_given() -> None:
    checked = followups.check_rules(followups.DEFAULT_RULES)
    assert [r["id"] for r in checked] == [r["id"] for r in followups.DEFAULT_RULES]
    (listen,) = [r for r in checked if r["id"] == "listening"]
    phrases = listen["when"]["probation"]["feedback"]["mentions"]
    assert "too forceful" in phrases and "打断别人" in phrases
