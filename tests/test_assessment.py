"""Scores people can trust: no evidence, no number; names mapped, never dropped; unusable
transcripts kept out; meaning found through recognition errors (with the real sentence
encoder); a composite match that missing data cannot lift."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hr_bridge import followups, matching
from models_onnx.embedder import SentenceEncoder, load_sentence_encoder
from pipeline.events import FaceObservation, SpeechEnd, TimedWord, Transcript
from pipeline.replay import replay
from pipeline.scoring.catalogue import UnknownMeasure, resolve
from pipeline.scoring.report import SessionFacts, build_report
from pipeline.scoring.rubric import Rubric, rubric_from_dict
from pipeline.scoring.scorer import Scorer
from pipeline.session import competency_signals
from server.models import text_similarity

QUESTION = "Tell us about a time you improved a process at work."
RUBRIC = rubric_from_dict(
    {
        "language": "en",
        "competencies": [
            "communication",
            "Logical  Structure",
            {"name": "Job knowledge", "weight": 2},
            {"name": "Stress resilience"},  # an alias of composure
            {"name": "Teamwork", "weight": 1},  # nothing measures it: interviewers rate it
        ],
        "questions": [
            {
                "text": QUESTION,
                "time_limit_s": 90,
                "concepts": [
                    {"name": "delivery time", "synonyms": ["lead time"]},
                    {"name": "customer complaints", "synonyms": ["unhappy customers"]},
                ],
            }
        ],
    }
)

ADEQUATE = (
    "At my last job our deliveries were often late, so I looked at the routes with the "
    "drivers and we changed the order of the stops. Because of that the delivery time went "
    "down and we had fewer customer complaints over the next two months."
)
NON_ANSWER = "Um, uh, I, um, sold stuff, uh, I do not know, um, yeah, uh, stuff."


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_sentence_encoder()


def answer(
    scorer: Scorer, text: str, t0: float, utt: int, per_word: float = 0.4, **extra: object
) -> float:
    """Fold one spoken utterance (speech span and final transcript); returns its end."""
    words = tuple(
        TimedWord(t0 + i * per_word, t0 + (i + 1) * per_word - 0.05, w, 0.9)
        for i, w in enumerate(text.split())
    )
    t1 = words[-1].end
    scorer.fold(SpeechEnd(utt, t0, t1))
    scorer.fold(Transcript(utt, True, t0, t1, text, text, words, 0.9, **extra))  # type: ignore[arg-type]
    return t1


def scored(text: str, rubric: Rubric = RUBRIC, encoder: SentenceEncoder | None = None) -> Scorer:
    s = Scorer(rubric, encoder=encoder)
    s.start_question(0, 0.0)
    answer(s, text, 1.0, 1)
    return s


def test_requisition_names_map_to_measures_or_to_interviewers() -> None:
    assert RUBRIC.measures == {
        "communication": "communication",
        "logical_structure": "logical_structure",
        "job_knowledge": "job_knowledge",
        "stress_resilience": "composure",
        "teamwork": None,
    }
    assert resolve("沟通能力") == "communication" and resolve("逻辑结构") == "logical_structure"
    assert resolve("抗压能力") == "composure" and resolve("Negotiation") is None
    zh = rubric_from_dict({"language": "zh", "competencies": ["沟通能力", "专业知识", "团队合作"]})
    assert zh.measures == {
        "沟通能力": "communication",
        "专业知识": "job_knowledge",
        "团队合作": None,
    }
    with pytest.raises(UnknownMeasure, match=r"unknown measure 'charisma'.*communication"):
        rubric_from_dict({"competencies": [{"name": "Presence", "measure": "charisma"}]})
    explicit = rubric_from_dict(
        {"competencies": [{"name": "Client focus", "measure": "job knowledge"}]}
    )
    assert explicit.measures == {"client_focus": "job_knowledge"}


def test_a_non_answer_has_no_scores_and_never_outranks_an_adequate_one() -> None:
    good = scored(ADEQUATE).answer_scores(0)
    bad = scored(NON_ANSWER).answer_scores(0)
    assert all(s.value is None for s in bad.values())  # 15 words: nothing to judge
    assert bad["communication"].needs == "25 words (has 15), 8 s of speech (has 6.0)"
    for measure in ("communication", "logical_structure", "job_knowledge", "composure"):
        assert good[measure].value is not None, measure
    # A longer non-answer does get judged, and lands below the adequate answer.
    rambling = (
        "Um, uh, I, um, sold stuff, uh, I do not know, um, yeah. Uh, we had, um, you know, "
        "things, uh, and I, um, kind of did them, uh, I guess, um, and then, uh, yeah, um, "
        "it was, uh, fine, I mean, sort of, um."
    )
    worse = scored(rambling).answer_scores(0)
    for measure, s in worse.items():
        if s.value is not None:
            assert s.value < (good[measure].value or 0), measure
    hesitations = [e.kind for e in worse["communication"].evidence]
    assert hesitations.count("filler") >= 15


def test_an_interview_without_speech_has_no_scores_live_or_in_the_report() -> None:
    s = Scorer(RUBRIC)
    s.start_question(0, 0.0)
    for i in range(120):  # 12 s of a face looking at the camera, not a word
        s.fold(FaceObservation(i / 10, faces=1, eye_contact=True))
    live = competency_signals(s)
    assert all(sig.value is None for sig in live.values())
    assert live["competency:overall"].evidence["status"] == "incomplete"
    assert live["competency:communication"].evidence["status"] == "insufficient_evidence"
    assert live["competency:teamwork"].evidence["status"] == "interviewer_only"
    report = build_report({"id": "iv"}, s, SessionFacts(), {})
    assert report.overall is None and report.scores() == {}
    assert "no_speech" in {f.flag for f in report.flags}
    teamwork = report.competencies["teamwork"]
    assert teamwork.status == "interviewer_only" and teamwork.label == "Teamwork"


def test_two_seconds_in_the_overlay_is_collecting_not_scoring() -> None:
    s = scored("I think the main thing was")
    live = competency_signals(s)
    assert live["competency:overall"].value is None
    comm = live["competency:communication"]
    assert comm.value is None and "25 words (has 6)" in comm.evidence["needs"]
    assert comm.evidence["formula"].startswith("0.35 rate")


def test_overall_needs_enough_of_the_measurable_weight() -> None:
    s = scored(ADEQUATE)
    per, total, coverage, missing = s.overall()
    # Engagement has no video here; teamwork is interviewers' own: neither blocks the rest.
    assert "teamwork" not in missing and total is not None and coverage == 1
    assert per["engagement"].value is None  # not in the requisition, still reported
    thin = rubric_from_dict({"competencies": ["engagement", "communication"], "questions": []})
    per, total, coverage, missing = scored(ADEQUATE, thin).overall()
    assert total is None and coverage == 0.5 and missing == ["engagement"]


def test_loops_echoes_and_foreign_answers_are_dropped_and_flagged() -> None:
    s = Scorer(RUBRIC)
    s.start_question(0, 0.0)
    answer(s, "4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4", 1.0, 1)
    answer(s, QUESTION, 5.0, 2)
    answer(s, "我在上一家公司负责物流", 10.0, 3, language="zh", language_prob=0.97)
    assert [d.reason for d in s.dropped] == ["repetition_loop", "echo", "wrong_language"]
    assert not s.usable_speech()
    report = build_report({"id": "iv"}, s, SessionFacts(), {})
    flags = [f.flag for f in report.flags]
    assert flags[:3] == ["repetition_loop", "echo", "wrong_language"] and "no_speech" in flags
    lines = report.questions[0].transcript
    assert [line.dropped for line in lines] == ["repetition_loop", "echo", "wrong_language"]
    assert report.scores() == {}


def test_chinese_pace_is_counted_in_characters() -> None:
    rubric = rubric_from_dict({"language": "zh", "questions": [{"text": "介绍一个项目"}]})
    s = Scorer(rubric)
    s.start_question(0, 0.0)
    text = (  # 63 characters
        "我负责公司的物流系统当时客户经常投诉送货太慢于是我重新安排了仓库的拣货顺序"
        "三个月以后平均送货时间缩短了一天客户的投诉也少了很多"
    )
    chars = tuple(TimedWord(1 + i * 0.25, 1.2 + i * 0.25, ch, 0.9) for i, ch in enumerate(text))
    s.fold(SpeechEnd(1, 1.0, chars[-1].end))
    s.fold(Transcript(1, True, 1.0, chars[-1].end, text, text, chars, 0.9))
    comm = s.answer_scores(0)["communication"]
    pace = next(e for e in comm.evidence if e.kind == "pace")
    assert pace.text.startswith("63 characters in 15.7 s (241/min)")
    assert dict(comm.components)["speaking_rate"] == 100  # 180-300 a minute is clear Chinese


def test_a_recognition_error_still_finds_the_result_by_meaning(encoder: SentenceEncoder) -> None:
    heard = (
        "At my previous job the warehouse was always late with orders. My task was to fix "
        "the picking process. So I organized the shelves by how often items sold. Another "
        "result we cut the lead time for orders by a third."
    )
    lexical = scored(heard).answer_scores(0)["logical_structure"]
    meaning = scored(heard, encoder=encoder).answer_scores(0)["logical_structure"]
    assert "structure:result" not in {e.kind for e in lexical.evidence}
    result = next(e for e in meaning.evidence if e.kind == "structure:result")
    assert result.route == "semantic" and "result we cut" in result.text.lower()
    assert result.similarity is not None and result.similarity >= 0.4
    assert dict(meaning.components)["star_parts"] == 4
    assert (meaning.value or 0) > (lexical.value or 0)
    # Off-topic fluency matches no concept by meaning.
    off = scored(
        "I really enjoy playing football on weekends with my friends and afterwards we "
        "usually go for dinner together and talk about the match for hours.",
        encoder=encoder,
    ).answer_scores(0)["job_knowledge"]
    assert off.value == 0


def _match(
    competencies: dict[str, float], facts: dict[str, float], parts: Sequence[dict[str, object]]
) -> matching.Match:
    config = {"parts": list(parts), "bands": {"high": 75, "medium": 55}}
    return matching.compute(config, {}, competencies, {"facts": facts}, 95.0)


def test_missing_data_lowers_coverage_and_never_lifts_the_band() -> None:
    parts = [
        {"kind": "competency", "name": "Logical structure", "weight": 40},
        {"kind": "fact", "name": "past_sales_results", "weight": 30},
        {"kind": "requirements", "weight": 30},
    ]
    full = _match({"logical_structure": 90}, {"past_sales_results": 80}, parts)
    assert full.band == "high" and full.coverage == 1 and full.missing == []
    gap = _match({"logical_structure": 90}, {}, parts)
    assert gap.coverage == 0.7 and gap.score == pytest.approx(92.1, abs=0.1)
    assert gap.band == "incomplete" and gap.possible_bands == ["medium", "high"]
    assert gap.missing == ["past sales results"]
    assert "coverage lowered by 30%" in gap.parts[1].reason
    # A non-answer: the interview part abstained, so no score and no band.
    empty = _match({}, {}, parts)
    assert empty.score is None and empty.band == "incomplete"
    rated = matching.compute(
        {"parts": [{"kind": "rating", "name": "Teamwork", "weight": 1}]},
        {}, {}, None, None, ratings={"teamwork": 4.0},
    )  # fmt: skip
    assert rated.score == 75 and rated.band == "high"


def test_review_feedback_is_matched_by_meaning(encoder: SentenceEncoder) -> None:
    rule = {
        "id": "listening-by-meaning",
        "title": "Strong at interview, peers say they dominate",
        "course": "Active listening",
        "when": {
            "interview": {"communication": {">=": 80}},
            "probation": {
                "feedback": {"similar_to": "dominates conversations and does not listen"}
            },
        },
    }
    (checked,) = followups.check_rules([rule])
    strong = {"communication": {"value": 90.0, "evidence": []}}
    similarity = text_similarity(encoder)

    def fired(feedback: str) -> bool:
        review = {"probation": {"id": 1, "manager_feedback": feedback}}
        return bool(followups.evaluate([checked], strong, review, similarity))

    assert fired("She talks over her colleagues in every meeting and rarely lets anyone finish.")
    assert fired("他在会议上总是打断别人，不听别人的意见。")
    assert not fired("He always finishes his tasks on time and writes clear reports.")
    assert not followups.evaluate(  # no model, no match by meaning
        [checked], strong, {"probation": {"id": 1, "manager_feedback": "talks over people"}}
    )


def test_a_rebuilt_report_keeps_the_answer_language_flag() -> None:
    """A lost session's report is rebuilt from its live records: the detected language of
    each final travels in the caption record, so a foreign answer stays unscored."""
    text = "我在上一家公司负责物流和仓库管理工作"
    words = [[1.0 + i * 0.2, 1.15 + i * 0.2, ch] for i, ch in enumerate(text)]
    records = [
        {"type": "question", "index": 0, "text": QUESTION, "t": 0.0},
        {"type": "speech", "state": "start", "utterance": 1, "t": 1.0},
        {"type": "speech", "state": "end", "utterance": 1, "t": 4.8},
        {"type": "caption", "final": True, "utterance": 1, "text": text, "t_start": 1.0,
         "t_end": 4.8, "confidence": 0.9, "words": words, "language": "zh",
         "language_prob": 0.98},
    ]  # fmt: skip
    s, facts = Scorer(RUBRIC), SessionFacts()
    assert replay(records, s, facts) == 1
    assert [d.reason for d in s.dropped] == ["wrong_language"]
    assert "detected zh (98%)" in s.dropped[0].detail


def test_what_the_engine_cannot_measure_is_weighed_by_interviewers() -> None:
    req = {"competencies": ["Communication", {"name": "Teamwork", "weight": 1}]}
    config = matching.default_config(req)
    assert [(p["kind"], p["name"]) for p in config["parts"]] == [
        ("competency", "Communication"),
        ("rating", "Teamwork"),
    ]
    unrated = matching.compute(None, req, {"communication": 80.0}, None, None)
    assert unrated.band == "incomplete" and unrated.missing == ["Teamwork"]
    assert "no interviewer rating yet" in unrated.parts[1].reason
    rated = matching.compute(None, req, {"communication": 80.0}, None, None, {"teamwork": 5.0})
    assert rated.score == 90 and rated.band == "high" and rated.coverage == 1
