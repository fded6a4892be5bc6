"""Recognition loops and echoes of the question are told from answers, in English and Chinese;
spoken answers, filler-heavy ones included, are never caught."""

from __future__ import annotations

import pytest

from pipeline.scoring.answer_checks import (
    ECHO_THRESHOLD,
    echo_of,
    is_echo,
    repetition_loop,
)

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
        (  # a decoder that lost its place writes the sentence again (seen on the ladder)
            "I think I would. I don't really know. Sorry. I think I would. I don't really know. "
            "Sorry.",
            "en",
            "'i think i would i don't really know sorry' said 2 times in a row",
        ),
        (
            "我们先做了市场调查然后我们先做了市场调查然后",
            "zh",
            "'我们先做了市场调查然后' said 2 times in a row",
        ),
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


SPOKEN = {
    "en": [
        "When I was a support lead at a logistics company, a client lost a shipment the day "
        "before a launch. My task was to find it and keep the client. First I called the "
        "carrier, then I checked every scan of the parcel, and I kept the client updated every "
        "hour. We found it in a depot two towns away and drove it over that night. As a "
        "result the client renewed for two years, and we added a check so a stuck parcel "
        "raises an alert after six hours instead of a day.",
        "Um, I, uh, I'm not sure, you know, I think, um, I think it depends, uh, on the team, "
        "I mean, kind of, yeah.",
        "I like to plan the week on Monday, then I review it on Wednesday, and on Friday I "
        "write down what worked and what did not, so that next week is a little better.",
        "We tested, tested, and tested again, because the hospital could not afford one more "
        "outage, and in the end we shipped with no incidents at all.",
    ],
    "zh": [
        "当时我在一家电商公司做客服主管，有一位客户收到的商品破损了，非常生气。我的任务是当天解决，"
        "并留住这位客户。首先我耐心听他说完，然后道歉，接着核对订单，安排了换货，还补偿了优惠券。"
        "三天后我做了回访，客户给了好评。",
        "嗯，呃，这个，嗯，我不太清楚，那个，嗯，不知道怎么说，呃，就是，嗯。",
        "我觉得沟通最重要。我们每天早上开站会，有问题马上说，最后项目提前两周上线。",
        "对对对，是这样的，好的好的，我再补充一点：我们当时也做了压力测试。",
    ],
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_spoken_answers_are_neither_loops_nor_echoes(language: str) -> None:
    question = Q_EN if language == "en" else Q_ZH
    for answer in SPOKEN[language]:
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
