"""Scoring quality on a slice of the answer ladder (bench/ladder): one English and one Chinese
question answered at every designed level, spoken with espeak-ng and scored offline by
`hirestream analyze --requisition --answers --json`, as bench.scoring_quality does for the
whole ladder. Also an interview in which no one speaks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import scoring_quality as sq
from bench.speech import ToolMissing

# The English question whose strong answer states its result only through "as a result".
SLICE = {"en": 1, "zh": 0}
COMPETENCIES = sq.DESIGN.keys() | {"engagement"}


def _env() -> dict[str, str]:
    # Default settings: a developer's HIRESTREAM_* variables must not change the scores.
    return {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}


def _scored(language: str, folder: Path) -> dict[str, sq.Scored]:
    """Every level's answer to the slice question, in one recording: the requisition asks
    that question once per level."""
    ladder = sq.ladder(language)
    answers = ladder.question(SLICE[language])
    try:
        rec = sq.build_recording(answers, folder, f"{language}-slice", folder / "speech")
    except ToolMissing as err:
        pytest.fail(str(err))  # scripts/install-system-deps.sh installs espeak-ng and sox
    report = sq.analyze(rec, sq.requisition_for(ladder, answers), env=_env())
    return {r.answer.level: r for r in sq.scored_answers(rec, report)}


@pytest.fixture(scope="module")
def slices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, sq.Scored]]:
    folder = tmp_path_factory.mktemp("ladder")
    return {language: _scored(language, folder) for language in SLICE}


@pytest.mark.parametrize("language", list(SLICE))
def test_every_level_was_heard(slices, language: str) -> None:
    levels = slices[language]
    assert set(levels) == set(sq.LEVELS)
    for level in ("strong", "adequate", "off_topic"):
        assert levels[level].transcript, (level, levels[level])


@pytest.mark.parametrize("language", list(SLICE))
def test_a_non_answer_never_outranks_an_adequate_answer(slices, language: str) -> None:
    """On every competency where either answer has a value; an abstention ranks lowest."""
    na, ok = slices[language]["non_answer"], slices[language]["adequate"]
    compared = 0
    for c in COMPETENCIES:
        a, b = na.value(c), ok.value(c)
        if a is None and b is None:
            continue
        compared += 1
        assert sq.rank_key(a) <= sq.rank_key(b), (c, na.scores.get(c), ok.scores.get(c))
    assert compared >= 3  # the adequate answer has values to compare with


@pytest.mark.parametrize("language", list(SLICE))
def test_the_strong_answer_has_a_result_in_its_structure(slices, language: str) -> None:
    strong = slices[language]["strong"]
    score = strong.scores.get("logical_structure")
    assert score is not None and sq.value_of(score) is not None, strong.scores
    kinds = [e["kind"] for e in score.get("evidence", [])]
    assert any(k.startswith("structure") and "result" in k for k in kinds), (
        kinds,
        strong.transcript,
    )


def test_no_speech_has_no_scores(tmp_path: Path) -> None:
    ladder = sq.ladder("en")
    rec = sq.no_speech_recording(tmp_path, seconds=20.0, questions=2)
    report: dict[str, Any] = sq.analyze(
        rec, sq.requisition_for(ladder, ladder.level("strong")[:2]), env=_env()
    )
    assert report["overall"] is None
    assert "no_speech" in [f["flag"] for f in report["flags"]]
    scores = [s for q in report["questions"] for s in q["scores"].values()]
    scores += list(report["competencies"].values())
    for s in scores:
        assert s.get("value") is None and s.get("status") == "insufficient_evidence", s
