"""Language resources for scoring: fillers, structure markers, a light stemmer, synonyms.

Lists are deliberately short and conservative: a word is only counted when it is almost
always what we think it is in interview answers.
"""

from __future__ import annotations

import re

# Fillers: hesitation sounds and empty phrases. Multi-word entries are matched as phrases.
FILLERS = {
    # Not "like": the transcript drops the commas that tell the filler from the verb.
    "en": ["um", "uh", "erm", "er", "hmm", "you know", "i mean", "kind of", "sort of"],
    "zh": ["嗯", "呃", "那个", "就是说", "然后呢", "这个这个"],
}

# Hesitation sounds as the recogniser spells them, stretched or not ("um", "Umm", "uhh",
# "hmm", "erm"): matched as whole tokens, beside the phrases above.
FILLER_SOUNDS = {"en": re.compile(r"^(?:u+h*m+|u+h+|e+r+m*|h+m+|m{2,}|a+h+)$")}

# Structure markers by role (situation, task, action, result; reasons; sequence).
STRUCTURE = {
    "en": {
        "situation": ["when i was", "at my last", "at my previous", "in my previous",
                      "in my last", "the situation", "we had a"],
        "task": ["my task", "i was responsible", "my role was", "the goal was", "i needed to"],
        "action": ["i decided", "so i", "i started", "i organized", "i led", "i built", "i talked"],
        "result": ["as a result", "in the end", "the result", "we reduced", "we increased",
                   "which led to", "we delivered", "finally"],
        "reason": ["because", "therefore", "so that", "that is why", "since"],
        "sequence": ["first", "then", "next", "after that", "second", "lastly"],
    },
    "zh": {
        "situation": ["当时", "那时候", "在我之前的", "背景是"],
        "task": ["我的任务", "我负责", "目标是", "我需要"],
        "action": ["我决定", "我开始", "我组织", "我带领", "于是我"],
        "result": ["结果", "最后", "最终", "因此我们", "提高了", "减少了"],
        "reason": ["因为", "所以", "因此", "由于"],
        "sequence": ["首先", "然后", "接着", "其次", "最后"],
    },
}  # fmt: skip

STAR = ("situation", "task", "action", "result")

# What each part of an answer sounds like, for matching by meaning when no marker word was
# heard (recognition errors, paraphrases). Short sentences in the register of spoken answers.
STRUCTURE_PROTOTYPES = {
    # Discourse words only: a prototype that carries content words ("fix it", "customers")
    # matches answers that share the content, not the part (a misheard "I'm a fixed it" was
    # taken for a task at 0.77).
    "en": {
        "situation": ["at the time the situation was that", "back then we had a situation where",
                      "at my previous job", "a few years ago at work"],
        "task": ["my task was to", "I was responsible for", "my job was to make sure"],
        "action": ["so what I did was", "I decided to", "the first thing I did was"],
        "result": ["as a result", "in the end the result was", "the outcome was that"],
        "reason": ["because", "the reason was that", "that is why"],
    },
    "zh": {
        "situation": ["当时的情况是", "那时候我们遇到的情况是"],
        "task": ["我的任务是", "我负责的是"],
        "action": ["于是我决定", "我做的第一件事是"],
        "result": ["结果是", "最后的结果是"],
        "reason": ["因为", "原因是"],
    },
}  # fmt: skip

_SUFFIXES = [
    ("ational", "ate"), ("ization", "ize"), ("fulness", "ful"), ("iveness", "ive"),
    ("ments", ""), ("ment", ""), ("ings", ""), ("ing", ""), ("ies", "y"), ("ied", "y"),
    ("edly", ""), ("ed", ""), ("ers", "er"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"),
    ("shes", "sh"), ("ly", ""), ("ss", "ss"), ("s", ""),
]  # fmt: skip


def stem(word: str) -> str:
    """A light English stemmer: strips common inflections, keeps at least 3 letters."""
    w = word.lower().strip("'’")
    for suffix, repl in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) + len(repl) >= 3:
            w = w[: len(w) - len(suffix)] + repl
            break
    # "planned" -> "plann" -> "plan": undo a doubled final consonant left by the suffix.
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiousl":
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def is_unspaced(language: str) -> bool:
    return language in {"zh", "ja"}
