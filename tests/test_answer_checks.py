"""Recognition loops and echoes of the question are told from answers, in English and Chinese;
the spoken answers of the quality ladders (bench/ladder) are never caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.scoring.answer_checks import (
    ECHO_THRESHOLD,
    echo_of,
    is_echo,
    repetition_loop,
)

LADDERS = Path(__file__).resolve().parent.parent / "bench" / "ladder"

Q_EN = "Tell me about a time you led a team through a difficult project. What did you do?"
Q_ZH = "请讲一个你带领团队完成困难项目的经历。你具体做了什么？"


@pytest.mark.parametrize(
    ("text", "language", "loop"),
    [
        ("4-4-4-4-4-4-4-4", "en", "'4' repeated 8 times"),
        ("the the the the the", "en", "'the' repeated 5 times"),
        ("So my answer is the the the the the the", "en", "'the' repeated 6 times"),
        ("谢谢谢谢谢谢谢谢", "zh", "'谢' repeated 8 times"),
        ("I think that I think that I think that", "en", "'i think that' repeated 3 times"),
        ("Thank you. Thank you. Thank you.", "en", "'thank you' repeated 3 times"),
        ("我觉得我觉得我觉得", "zh", "'我觉得' repeated 3 times"),
        ("好的好的好的好的", "zh", "'好的' repeated 4 times"),
    ],
)
def test_loops_are_named(text: str, language: str, loop: str) -> None:
    assert repetition_loop(text, language) == loop


def test_a_loop_whose_repeats_vary_is_caught_by_compression() -> None:
    text = (
        "I went to the store and then we went to the store, so I went to the store and then "
        "the store and then we went to the store so I went to the store and we went to the "
        "store then"
    )
    found = repetition_loop(text, "en")
    assert found is not None and found.startswith("repetitive text (compresses")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("very very good", "en"),
        ("No, no, no, no, that is not what happened.", "en"),
        ("one, two, three, four, five", "en"),
        ("Step one, step two, step three: we test, test, and test again.", "en"),
        ("4-4-4-4", "en"),
        ("Thank you. Thank you.", "en"),
        ("好的好的，我明白了。", "zh"),
        ("哈哈哈，对对对对，是这样的。", "zh"),
        ("谢谢谢谢谢", "zh"),
        ("", "en"),
    ],
)
def test_normal_speech_is_not_a_loop(text: str, language: str) -> None:
    assert repetition_loop(text, language) is None


def _ladder(language: str) -> list[tuple[str, str]]:
    data: dict[str, Any] = yaml.safe_load((LADDERS / f"{language}.yaml").read_text("utf-8"))
    return [
        (q["text"], a if isinstance(a, str) else a["text"])
        for q in data["questions"]
        for a in q["answers"].values()
    ]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_ladder_answers_are_neither_loops_nor_echoes(language: str) -> None:
    answers = _ladder(language)
    assert len(answers) >= 20  # strong to non-answer, filler-heavy ones included
    for question, answer in answers:
        assert repetition_loop(answer, language) is None, answer
        assert echo_of(answer, [question], language) < 0.3, answer


@pytest.mark.parametrize(("question", "language"), [(Q_EN, "en"), (Q_ZH, "zh")])
def test_the_question_returned_as_the_answer_is_an_echo(question: str, language: str) -> None:
    assert echo_of(question, [question], language) == 1.0
    assert is_echo(question.upper(), [question], language)
    # A filler before it and the punctuation lost in recognition change nothing.
    said = ("um " if language == "en" else "嗯，") + question.replace("。", "").replace(".", "")
    assert is_echo(said, [question], language)
    # Any of the prompts: the question among others.
    assert is_echo(question, ["Welcome to the interview.", question], language)


def test_a_partial_echo_is_measured_but_not_dropped() -> None:
    text = (
        "Tell me about a time you led a team through a difficult project. Well, at Acme I led "
        "four people on a database migration."
    )
    share = echo_of(text, [Q_EN], "en")
    assert 0.4 < share < ECHO_THRESHOLD and not is_echo(text, [Q_EN], "en")
    zh = "请讲一个你带领团队完成困难项目的经历。我在上一家公司带领五个人完成了数据迁移。"
    assert 0.3 < echo_of(zh, [Q_ZH], "zh") < ECHO_THRESHOLD


@pytest.mark.parametrize(
    ("text", "language", "prompt"),
    [
        (
            "When I led a team at Acme we had a difficult migration; I split the work and we "
            "shipped on time with no outages.",
            "en",
            Q_EN,
        ),
        ("我在上一家公司带领团队完成了一个数据迁移项目，我们提前上线。", "zh", Q_ZH),
        ("Teamwork.", "en", "Which matters more to you, teamwork or speed?"),
        ("团队合作", "zh", "你觉得团队合作和速度哪个更重要？"),
        ("Teamwork or speed", "en", "Which matters more to you, teamwork or speed?"),
    ],
)
def test_a_genuine_answer_using_words_of_the_question_is_not_an_echo(
    text: str, language: str, prompt: str
) -> None:
    assert echo_of(text, [prompt], language) < 0.3
    assert not is_echo(text, [prompt], language)


def test_no_prompts_no_echo() -> None:
    assert echo_of(Q_EN, [], "en") == 0.0 and not is_echo(Q_EN, [], "en")
