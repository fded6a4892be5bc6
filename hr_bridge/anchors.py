"""Behaviourally anchored rating scales (1-5) for interviewers, in English and Chinese.

Each measure of the scoring catalogue has default anchors at 1, 3 and 5 (2 and 4 lie between
them, as in the usual BARS form); a requisition competency's own `anchors` replace them, and a
competency rated by interviewers only, without anchors of its own, gets the generic scale:
how much specific evidence of the behaviour the answers gave.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.scoring.catalogue import CATALOGUE

Anchors = dict[int, str]

DEFAULT_ANCHORS: dict[str, dict[str, Anchors]] = {
    "communication": {
        "en": {
            1: "Hard to follow: long hesitations, fragments, the listener must guess the point.",
            3: "Understandable with some effort: the point comes through, with fillers or detours.",
            5: "Clear and concise: the point first, at an easy pace, adapted to the listener.",
        },
        "zh": {
            1: "难以理解：长时间停顿、语句零碎，听者需要猜测其要点。",
            3: "稍加努力可以理解：要点能够传达，但有口头禅或绕弯。",
            5: "清晰简洁：先讲要点，语速适中，能根据听者调整表达。",
        },
    },
    "logical_structure": {
        "en": {
            1: "No structure: events and opinions in no order, no situation, action or result.",
            3: "Partly structured: the situation and action are there, the result or the "
            "reasons are missing.",
            5: "Situation, task, action and result in order, with the reasons and the sequence "
            "made explicit.",
        },
        "zh": {
            1: "没有结构：事件和观点杂乱无序，没有情境、行动或结果。",
            3: "部分有结构：有情境和行动，但缺少结果或理由。",
            5: "按情境、任务、行动、结果依次展开，理由和先后顺序交代清楚。",
        },
    },
    "job_knowledge": {
        "en": {
            1: "Misses or misstates the basic concepts of the role.",
            3: "Names the main concepts correctly but without depth or examples.",
            5: "Uses the role's concepts precisely, with concrete examples and trade-offs.",
        },
        "zh": {
            1: "遗漏或误解该岗位的基本概念。",
            3: "能正确说出主要概念，但缺乏深度或实例。",
            5: "准确运用岗位相关概念，并给出具体实例和权衡。",
        },
    },
    "engagement": {
        "en": {
            1: "Distracted or absent: looks away or leaves the frame, answers without attention.",
            3: "Present and attentive most of the time, with lapses.",
            5: "Attentive throughout: listens to the whole question and responds to it.",
        },
        "zh": {
            1: "分心或不在场：视线游离或离开画面，回答心不在焉。",
            3: "大部分时间在场且专注，偶有走神。",
            5: "始终专注：听完整个问题并针对问题作答。",
        },
    },
    "composure": {
        "en": {
            1: "Loses the thread under pressure: long freezes, visible distress, gives up.",
            3: "Stays on task under pressure with noticeable hesitation.",
            5: "Calm and steady on hard questions; takes a moment, then answers fully.",
        },
        "zh": {
            1: "压力下失去思路：长时间卡住、明显不安或放弃回答。",
            3: "压力下仍能完成回答，但有明显犹豫。",
            5: "面对难题沉着稳定；稍作思考后完整作答。",
        },
    },
}

# Interviewer-only competencies without anchors of their own: evidence of the behaviour.
GENERIC_ANCHORS: dict[str, Anchors] = {
    "en": {
        1: "No evidence of the behaviour in the answers.",
        3: "Some evidence: one example, or general statements without specifics.",
        5: "Strong evidence: repeated, specific examples of the behaviour.",
    },
    "zh": {
        1: "回答中没有体现该行为的证据。",
        3: "有一些证据：一个例子，或泛泛而谈、缺少细节。",
        5: "证据充分：多次给出该行为的具体实例。",
    },
}

if set(DEFAULT_ANCHORS) != set(CATALOGUE):  # a new measure needs its scale written here
    raise RuntimeError(f"anchors for {sorted(set(CATALOGUE) ^ set(DEFAULT_ANCHORS))}")


def _in(scales: Mapping[str, Anchors], language: str) -> Anchors:
    return dict(scales.get(language) or scales["en"])


def anchors_for(
    measure: str | None, language: str, own: Mapping[int, str] | None = None
) -> Anchors:
    """The 1-5 anchors a rater sees: the requisition's own when it wrote any, else the
    measure's defaults in `language` (English when there are none in it), else the generic
    scale."""
    if own:
        return {int(level): text for level, text in sorted(own.items())}
    if measure is not None and measure in DEFAULT_ANCHORS:
        return _in(DEFAULT_ANCHORS[measure], language)
    return _in(GENERIC_ANCHORS, language)
