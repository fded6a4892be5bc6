"""Competency scoring on crafted transcripts (no models): ranks, evidence, rubric handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.events import AffectObservation, FaceObservation, SpeechEnd, TimedWord, Transcript
from pipeline.scoring.lexicon import stem
from pipeline.scoring.report import SessionFacts, build_report
from pipeline.scoring.report_model import Flag, Report, RequisitionRef
from pipeline.scoring.rubric import load_rubric, rubric_from_dict
from pipeline.scoring.scorer import Score, Scorer

RUBRIC = rubric_from_dict(
    {
        "language": "en",
        "competencies": [
            {"name": "communication", "weight": 2},
            {"name": "logical structure", "weight": 1},
            {"name": "job knowledge", "weight": 1},
            "engagement",
        ],
        "questions": [
            {
                "text": "Tell us about a project under pressure.",
                "time_limit_s": 60,
                "targets": ["logical structure"],
                "concepts": [
                    "budget",
                    {"name": "stakeholder", "synonyms": ["customer", "client"]},
                    "deadline",
                ],
            }
        ],
    }
)

STAR = (
    "When I was at my last company the situation was tight. My task was to ship the billing "
    "system before the deadline. So I organized the team and first we cut the scope, then we "
    "tested every day because quality mattered. As a result we delivered on time and under budget."
)
RAMBLING = (
    "Um so yeah I mean it was like, you know, kind of hard, um, and uh we did some stuff, uh, "
    "and it was, you know, sort of fine I guess, um, things happened, uh, and yeah."
)


def utterance(text: str, t0: float, utt: int, per_word: float = 0.35) -> list[object]:
    words = tuple(
        TimedWord(t0 + i * per_word, t0 + (i + 1) * per_word - 0.05, w, 0.9)
        for i, w in enumerate(text.split())
    )
    t1 = words[-1].end
    return [
        SpeechEnd(utt, t0, t1),
        Transcript(utt, True, t0, t1, text, text, words, 0.9),
    ]


def value(s: Score) -> float:
    """A score that must have a value (the test's answer has the evidence for it)."""
    assert s.value is not None, s.needs
    return s.value


def score(
    text: str,
    faces: int = 0,
    eye: bool = True,
    affect: list[float] | None = None,
    allowed: bool = False,
) -> Scorer:
    s = Scorer(RUBRIC, affect_allowed=allowed)
    s.start_question(0, 0.0)
    for ev in utterance(text, 1.0, 1):
        s.fold(ev)  # type: ignore[arg-type]
    for i in range(faces):
        s.fold(FaceObservation(i / 10, faces=1, eye_contact=eye))
    for v in affect or []:
        s.fold(AffectObservation(1.0, (("happy", 1.0),), "happy", v))
    return s


def test_structured_star_answer_outranks_rambling_with_fillers() -> None:
    star = score(STAR).answer_scores(0)
    ramble = score(RAMBLING).answer_scores(0)
    # 37 words of rambling are too few to judge structure: no number, and what it needs.
    assert ramble["logical_structure"].value is None
    assert ramble["logical_structure"].status == "insufficient_evidence"
    assert ramble["logical_structure"].needs == "40 words (has 37)"
    assert value(star["logical_structure"]) >= 90
    assert value(star["communication"]) > value(ramble["communication"]) + 20
    assert value(star["composure"]) > value(ramble["composure"])
    parts = dict(star["logical_structure"].components)
    assert parts["star_parts"] == 4 and parts["connectives"] >= 3


def test_evidence_points_at_the_right_words() -> None:
    s = score(RAMBLING)
    fillers = [e for e in s.answer_scores(0)["communication"].evidence if e.kind == "filler"]
    words = RAMBLING.split()
    for e in fillers:
        # The evidence time is where that word is in the crafted timeline (0.35 s per word).
        index = round((e.t_start - 1.0) / 0.35)
        assert e.text.split()[0] in words[index].lower().strip(",.")
    assert {e.text for e in fillers} >= {"um", "uh", "you know", "i mean", "kind of", "sort of"}
    structure = score(STAR).answer_scores(0)["logical_structure"].evidence
    result = [e for e in structure if e.kind == "structure:result"]
    assert result and result[0].text == "as a result"
    words = STAR.split()
    at = round((result[0].t_start - 1.0) / 0.35)
    assert " ".join(words[at : at + 3]).lower() == "as a result"


def test_concepts_match_with_stems_and_synonyms() -> None:
    ans = score(
        "We kept the budgets tight and met every client every week, and we wrote down what "
        "each of them asked for so that nothing got lost on the way."
    ).answer_scores(0)
    jk = ans["job_knowledge"]
    assert jk.value == pytest.approx(100 * 2 / 3, abs=0.2)
    found = {e.kind: e.text for e in jk.evidence}
    assert found == {"concept:budget": "budgets", "concept:stakeholder": "client"}
    assert stem("planned") == "plan" and stem("deadlines") == "deadline"


def test_engagement_and_policy_bound_composure() -> None:
    looking = score(STAR, faces=60, eye=True).answer_scores(0)["engagement"]
    away = score(STAR, faces=60, eye=False).answer_scores(0)["engagement"]
    assert looking.value == 100 and away.value == 0 and looking.confidence == 1
    calm = score(STAR, affect=[0.9] * 5, allowed=True).answer_scores(0)["composure"]
    upset = score(STAR, affect=[-0.9] * 5, allowed=True).answer_scores(0)["composure"]
    ignored = score(STAR, affect=[-0.9] * 5, allowed=False).answer_scores(0)["composure"]
    assert value(calm) > value(upset)
    assert dict(ignored.components).keys() == {"voice"}  # no affect without the policy


def test_overall_uses_rubric_weights() -> None:
    s = score(STAR, faces=60)
    per, total, coverage, missing = s.overall()
    assert set(per) >= {"communication", "logical_structure", "job_knowledge", "engagement"}
    assert coverage == 1 and missing == []
    w = RUBRIC.weights
    names = [k for k in w if k in per]
    expected = sum(value(per[k]) * w[k] for k in names) / sum(w[k] for k in names)
    assert total == pytest.approx(expected, abs=0.11)
    assert abs(sum(w.values()) - 1) < 1e-9 and w["communication"] == pytest.approx(0.4)


def test_chinese_fillers_and_structure() -> None:
    rubric = rubric_from_dict({"language": "zh", "questions": [{"text": "介绍一个项目"}]})
    s = Scorer(rubric)
    # 70 characters at least: below that structure abstains.
    text = (
        "嗯首先我负责预算然后我组织团队最后结果是提前完成"
        "当时客户对交付时间很不满意我需要在两个月内把系统上线每天和团队开短会一起检查进度和风险并及时调整计划"
    )
    words = tuple(TimedWord(1 + i * 0.2, 1.15 + i * 0.2, ch, 0.9) for i, ch in enumerate(text))
    s.fold(SpeechEnd(1, 1.0, words[-1].end))
    s.fold(Transcript(1, True, 1.0, words[-1].end, text, text, words, 0.9))
    ans = s.answer_scores(0)
    kinds = {e.kind for e in ans["logical_structure"].evidence}
    assert {"structure:sequence", "structure:task", "structure:action", "structure:result"} <= kinds
    fillers = [e for e in ans["communication"].evidence if e.kind == "filler"]
    assert [f.text for f in fillers] == ["嗯"] and fillers[0].t_start == 1.0


def test_rubric_files_and_version(tmp_path: Path) -> None:
    data = {
        "language": "en",
        "competencies": ["communication", "composure"],
        "questions": [{"text": "Why us?", "concepts": ["mission"]}],
    }
    (tmp_path / "r.json").write_text(json.dumps(data))
    (tmp_path / "r.yaml").write_text(
        "language: en\ncompetencies: [communication, composure]\n"
        "questions:\n  - text: Why us?\n    concepts: [mission]\n"
    )
    a, b = load_rubric(tmp_path / "r.json"), load_rubric(tmp_path / "r.yaml")
    assert a == b and a.version == b.version and len(a.version) == 12
    assert a.weights == {"communication": 0.5, "composure": 0.5}
    with pytest.raises(ValueError, match="negative"):
        rubric_from_dict({"competencies": [{"name": "x", "weight": -1}], "questions": []})


def test_report_of_a_scripted_answer_has_its_competencies_evidence_flags_and_summary() -> None:
    s = score(STAR, faces=30)
    facts = SessionFacts(
        degraded=[{"stage": "face", "t": 3.0, "reason": "face analysis failed: x"}],
        several_faces_frames=10,
        frames=100,
        absences=[(1.0, 2.0), (10.0, 17.5)],
    )
    header = {"id": "iv1", "candidate_name": "Ada", "requisition": {"id": "r1", "title": "PM"}}
    report = build_report(header, s, facts, {"vad": "v"})
    assert isinstance(report, Report)
    assert report.requisition == RequisitionRef(id="r1", title="PM")
    assert set(report.competencies) == {
        "communication",
        "logical_structure",
        "job_knowledge",
        "engagement",
        "composure",
    }
    knowledge = report.competencies["job_knowledge"]
    assert [(e.kind, e.text, e.utterance) for e in knowledge.evidence] == [
        ("concept:budget", "budget", 1),
        ("concept:deadline", "deadline", 1),
    ]
    assert all(1.0 <= e.start < e.end <= 18.8 for e in knowledge.evidence)  # within the answer
    kinds = {e.kind for e in report.competencies["logical_structure"].evidence}
    assert {"structure:situation", "structure:task", "structure:action"} <= kinds
    (question,) = report.questions
    assert question.question == RUBRIC.questions[0].text and question.targets == [
        "logical_structure"
    ]
    assert question.transcript[0].text == STAR and question.transcript[0].utterance == 1
    assert question.scores["logical_structure"].components["star_parts"] == 4
    assert question.scores["job_knowledge"].value == pytest.approx(200 / 3, abs=0.1)  # 2 of 3
    assert report.flags == [
        Flag(flag="several_faces", detail="10 of 100 analysed frames"),
        Flag(flag="long_absence", start=10.0, end=17.5),  # the 1 s absence is not flagged
        Flag(flag="stage_degraded", stage="face", t=3.0, reason="face analysis failed: x"),
    ]
    assert report.overall is not None and report.rubric_version == RUBRIC.version
    assert report.weights == RUBRIC.weights and report.models == {"vad": "v"}
    assert "A person makes every decision" in report.candidate_summary
    assert "facial expressions" not in report.candidate_summary  # affect was not analysed
    # The JSON keeps every flag's own keys only, and the counts as integers.
    body = report.model_dump(mode="json")
    assert [list(f) for f in body["flags"]] == [
        ["flag", "detail"],
        ["flag", "start", "end"],
        ["flag", "stage", "t", "reason"],
    ]
    assert json.dumps(body["questions"][0]["scores"]["logical_structure"]["components"]) == (
        '{"star_parts": 4, "connectives": 3}'
    )
    assert Report.model_validate(body) == report


def test_report_without_speech_is_flagged() -> None:
    s = Scorer(RUBRIC)
    s.start_question(0, 0.0)
    report = build_report({"id": "iv2"}, s, SessionFacts(), {})
    assert report.flags == [Flag(flag="no_speech", detail="no usable answer was transcribed")]
    assert report.candidate_name is None and report.requisition is None
    assert report.overall is None and report.overall_status == "incomplete"
    assert report.missing == list(RUBRIC.weights) and report.coverage == 0
    assert all(c.value is None for c in report.competencies.values())
    assert {c.status for c in report.competencies.values()} == {"insufficient_evidence"}
    assert report.scores() == {}
