"""Hesitations in transcripts: do "um", "uh", "嗯", "呃" survive, and at what cost?

    python -m bench.fillers [--runs N] [--out FILE]

Answers with fillers at known places are synthesized (espeak-ng; each filler spoken on its
own, slowly, with a pause either side) and decoded as the ASR stage decodes a final, with
and without the disfluent prompt and with and without the question in the prompt. Per
configuration: filler recall and precision (fillers aligned by word-level edit distance, so
a filler counts only where it was spoken), the error rate on the other words (WER; for
Chinese per character), question echoes, and the median final-decode time. Also the answer
language each final is tagged with, in both directions (a Chinese answer to the English
model, an English answer to the multilingual one).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.asr_latency import live_latency
from bench.common import write_json
from bench.speech import EN_FILLERS, SR, hesitant
from models_onnx.whisper import WhisperAsr, answer_language
from pipeline.asr_stage import FILLER_PROMPT, primed_decode
from pipeline.text import words_of
from server.models import whisper_dir
from server.settings import load_settings

F = "<f>"  # any filler, after normalisation

ZH_FILLERS = ["就是说", "就是說", "那个", "那個", "嗯", "恩", "呃", "额", "額"]
# espeak's default Mandarin voice and a female variant: base identifies the first as Thai
# or Vietnamese more often than as Chinese, the second as Chinese.
ZH_VOICES = {"zh": "cmn-latn-pinyin+f3", "zh_male": "cmn-latn-pinyin"}

# (question, answer); {braces} mark a filler.
EN_ANSWERS = [
    ("Where would you start?", "{um} I think we should start with the customer."),
    ("Tell me about your last role.", "In my last role, {uh} I managed a team of four engineers."),
    ("What was hard?", "{erm} The hardest part was {um} agreeing on priorities."),
    ("How do you plan?", "I usually plan my week on Monday {uh} and review it on Friday."),
    ("And deadlines?", "{hmm} When a deadline is at risk, I tell my manager early."),
    ("Any results?", "We reduced the response time {um} by half in one year."),
    ("Databases?", "{uh} Yes, I have worked with {erm} databases for five years."),
    ("What are you looking for?", "I am looking for a role where {um} I can grow into a leader."),
    ("Anything else?", "{um} Thank you, that is {uh} all from my side."),
    ("Your greatest strength?", "My greatest strength is {hmm} that I learn quickly."),
]
# (question, [(characters, pinyin)]); a piece in braces is a filler.
ZH_ANSWERS = [
    (
        "请介绍一下你的团队。",
        [
            ("{嗯}", "en4"),
            ("我们的团队", "wo3 men5 de5 tuan2 dui4"),
            ("{呃}", "e4"),
            ("一共有四个人", "yi2 gong4 you3 si4 ge4 ren2"),
        ],
    ),
    (
        "你以前做什么工作？",
        [
            ("我在上一个公司", "wo3 zai4 shang4 yi2 ge4 gong1 si1"),
            ("{那个}", "na4 ge4"),
            ("负责客户服务", "fu4 ze2 ke4 hu4 fu2 wu4"),
        ],
    ),
    (
        "项目延期怎么办？",
        [
            ("{呃}", "e4"),
            ("如果项目延期我会", "ru2 guo3 xiang4 mu4 yan2 qi1 wo3 hui4"),
            ("{嗯}", "en4"),
            ("提前告诉经理", "ti2 qian2 gao4 su4 jing1 li3"),
        ],
    ),
    (
        "你的优点是什么？",
        [
            ("我的优点是", "wo3 de5 you1 dian3 shi4"),
            ("{就是说}", "jiu4 shi4 shuo1"),
            ("学习很快", "xue2 xi2 hen3 kuai4"),
        ],
    ),
    (
        "什么最重要？",
        [
            ("{嗯}", "en4"),
            ("我觉得", "wo3 jue2 de2"),
            ("{呃}", "e4"),
            ("沟通最重要", "gou1 tong1 zui4 zhong4 yao4"),
        ],
    ),
]

SHORT_FILLER_PROMPT = {"en": "Umm, uh, hmm... okay, so, er,", "zh": "嗯，呃，那个，"}


@dataclass(frozen=True)
class Answer:
    language: str
    voice: str
    question: str
    reference: str  # fillers in braces
    pcm: npt.NDArray[np.float32]


def en_pieces(answer: str) -> list[tuple[str, bool]]:
    parts = re.split(r"(\{[^}]+\})", answer)
    return [(p.strip("{} "), p.startswith("{")) for p in parts if p.strip()]


def synthesize(folder: Path) -> list[Answer]:
    out = []
    for i, (q, a) in enumerate(EN_ANSWERS):
        sub = folder / f"en{i}"
        sub.mkdir()
        out.append(Answer("en", "en", q, a, hesitant(en_pieces(a), sub)))
    for name, voice in ZH_VOICES.items():
        for i, (q, pieces) in enumerate(ZH_ANSWERS):
            sub = folder / f"{name}{i}"
            sub.mkdir()
            pinyin = [(py, hz.startswith("{")) for hz, py in pieces]
            pcm = hesitant(pinyin, sub, voice=voice, rate_wpm=120)
            out.append(Answer("zh", name, q, "".join(hz for hz, _ in pieces), pcm))
    return out


def tokens(text: str, language: str) -> list[str]:
    """Scoring units: words (en) or characters (zh), each filler one F token."""
    if language == "zh":
        text = re.sub(r"\{[^}]+\}", f" {F} ", text)
        for f in ZH_FILLERS:
            text = text.replace(f, f" {F} ")
        return [u for part in text.split() for u in _chars(part)]
    text = re.sub(r"\{[^}]+\}", " um ", text)
    return [F if w in EN_FILLERS else w for w in words_of(text)]


def _chars(part: str) -> list[str]:
    return [part] if part == F else [c for c in part if c.isalnum()]


def align(ref: list[str], hyp: list[str]) -> list[tuple[str | None, str | None]]:
    """Minimum edit-distance alignment as (ref, hyp) pairs; None on the missing side."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(
                d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1])
            )
    pairs: list[tuple[str | None, str | None]] = []
    i, j = n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            pairs.append((ref[i - 1], None))
            i -= 1
        else:
            pairs.append((None, hyp[j - 1]))
            j -= 1
    return pairs[::-1]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    return sum(1 for r, h in align(ref, hyp) if r != h)


def score(reference: str, hypothesis: str, language: str) -> dict[str, int]:
    ref, hyp = tokens(reference, language), tokens(hypothesis, language)
    hits = sum(1 for r, h in align(ref, hyp) if r == h == F)
    plain_ref, plain_hyp = [t for t in ref if t != F], [t for t in hyp if t != F]
    return {
        "ref_fillers": ref.count(F),
        "hyp_fillers": hyp.count(F),
        "filler_hits": hits,
        "errors": edit_distance(plain_ref, plain_hyp),
        "ref_units": len(plain_ref),
    }


def longest_shared_run(a: list[str], b: list[str]) -> list[str]:
    best: list[str] = []
    for i in range(len(a)):
        for j in range(len(b)):
            k = 0
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
                k += 1
            if k > len(best):
                best = a[i : i + k]
    return best


def echoes_question(answer: Answer, text: str, question: str) -> bool:
    """The hypothesis copies 4+ units of the question that the spoken answer does not have."""
    hyp = [t for t in tokens(text, answer.language) if t != F]
    q = [t for t in tokens(question, answer.language) if t != F]
    ref = "".join(t for t in tokens(answer.reference, answer.language) if t != F)
    run = longest_shared_run(hyp, q)
    return len(run) >= 4 and "".join(run) not in ref


CONFIGS: dict[str, tuple[bool, str | None]] = {  # name: (question in prompt, filler prompt)
    "plain": (False, None),
    "question": (True, None),  # before: every decode was primed with the question
    "fillers": (False, "full"),
    "question+fillers": (True, "full"),
    "fillers_short": (False, "short"),
}


def run_config(
    model: WhisperAsr, answers: list[Answer], question: bool, filler: str | None, runs: int
) -> dict[str, Any]:
    """Each answer decoded as a final (words and language identification), `runs` times
    after one untimed decode; with a question, also once with another answer's question
    (speech that does not fit the question is where the question gets copied)."""
    totals: dict[str, int] = {}
    times, rows = [], []
    echoes = mismatched_echoes = 0
    for i, a in enumerate(answers):
        text = {"full": FILLER_PROMPT, "short": SHORT_FILLER_PROMPT}.get(filler or "", {})
        f = text.get(a.language)
        q = a.question if question else None
        per = []
        for k in range(runs + 1):
            t0 = time.perf_counter()
            hyp = primed_decode(model, a.pcm, a.language, q, f, words=True, identify=True)
            if k:  # the first decode of a new length also builds its shapes
                per.append(time.perf_counter() - t0)
        times.append(statistics.median(per))
        s = score(a.reference, hyp.text, a.language)
        for key, v in s.items():
            totals[key] = totals.get(key, 0) + v
        echo = echoes_question(a, hyp.text, a.question)
        echoes += echo
        row = {"reference": a.reference, "text": hyp.text, **s, "echo": echo}
        if question:
            other = answers[(i + 1) % len(answers)].question
            odd = primed_decode(model, a.pcm, a.language, other, f, words=True, identify=True)
            mismatched_echoes += echoes_question(a, odd.text, other)
            row["with_other_question"] = odd.text
        rows.append(row)
    hits = totals["filler_hits"]
    return {
        "filler_recall": round(hits / max(1, totals["ref_fillers"]), 3),
        "filler_precision": round(hits / totals["hyp_fillers"], 3)
        if totals["hyp_fillers"]
        else None,
        "fillers": {k: totals[k] for k in ("ref_fillers", "hyp_fillers", "filler_hits")},
        "error_rate_other_words": round(totals["errors"] / max(1, totals["ref_units"]), 3),
        "question_echoes": echoes,
        "question_echoes_other_question": mismatched_echoes if question else None,
        "final_decode_ms_median": round(1000 * statistics.median(times), 1),
        "final_decode_ms_total": round(1000 * sum(times), 1),
        "answers": rows,
    }


def language_tags(
    en_model: WhisperAsr, ml_model: WhisperAsr, answers: list[Answer]
) -> dict[str, Any]:
    """Each answer decoded by the other interview's model too: what the final is tagged with."""
    out: dict[str, Any] = {}
    for interview, model in (("en", en_model), ("zh", ml_model)):
        rows = []
        for a in answers:
            f = FILLER_PROMPT.get(interview)
            hyp = primed_decode(model, a.pcm, interview, None, f, words=True, identify=True)
            lang, p = answer_language(hyp, interview, model.multilingual)
            rows.append(
                {"spoken": a.voice, "tagged": lang, "prob": p, "text": hyp.text,
                 "languages": hyp.languages}
            )  # fmt: skip
        out[f"{interview}_interview"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="timed decodes per answer and config")
    ap.add_argument("--live", action="store_true", help="also the live latency, prompt on/off")
    ap.add_argument("--utterances", type=int, default=20, help="answers per live run")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    settings = load_settings()
    models = {
        "en": WhisperAsr(whisper_dir(settings, "en")),
        "zh": WhisperAsr(whisper_dir(settings, "zh")),
    }
    with tempfile.TemporaryDirectory() as tmp:
        answers = synthesize(Path(tmp))
    results: dict[str, Any] = {}
    for voice in ("en", *ZH_VOICES):
        subset = [a for a in answers if a.voice == voice]
        model = models[subset[0].language]
        audio_s = sum(len(a.pcm) for a in subset) / SR
        print(f"\n{voice}: {len(subset)} answers, {audio_s:.1f} s of audio")
        print(f"{'config':<20}{'recall':>7}{'prec':>6}{'WER*':>7}{'echo':>9}{'ms/final':>9}")
        results[voice] = {}
        for name, (question, filler) in CONFIGS.items():
            r = run_config(model, subset, question, filler, args.runs)
            results[voice][name] = r
            prec = "-" if r["filler_precision"] is None else f"{r['filler_precision']:.2f}"
            echo = f"{r['question_echoes']}/{r['question_echoes_other_question'] or 0}"
            print(
                f"{name:<20}{r['filler_recall']:>7.2f}{prec:>6}"
                f"{r['error_rate_other_words']:>7.3f}{echo:>9}"
                f"{r['final_decode_ms_median']:>9.0f}"
            )
        base = results[voice]["question"]["final_decode_ms_total"]
        for r in results[voice].values():
            r["decode_time_ratio_vs_question"] = round(r["final_decode_ms_total"] / base, 2)
    tags = language_tags(models["en"], models["zh"], answers)
    print("\nanswer language tags (spoken -> tagged):")
    for interview, rows in tags.items():
        pairs = ", ".join(f"{r['spoken']}->{r['tagged']}" for r in rows)
        print(f"  {interview}: {pairs}")
    live = []
    if args.live:
        print("\nlive, fluent English answers in real time (end of speech -> final):")
        for keep, partials in ((False, False), (True, False), (True, True)):
            r = live_latency(args.utterances, 0.5, keep, partials)
            live.append(r)
            e2f = r["end_to_final_ms"]
            print(
                f"  fillers={keep!s:<5} in_partials={partials!s:<5} p50 {e2f['p50']} ms, "
                f"p95 {e2f['p95']} ms, first partial p50 {r['start_to_first_partial_ms_p50']} ms, "
                f"RTF {r['asr_real_time_factor']}, WER {r['wer_streamed']}, "
                f"made-up fillers {r['made_up_fillers']}"
            )
    payload = {
        "results": results,
        "live_latency": live,
        "language_tags": tags,
        "config": {
            "models": {"en": "tiny.en int8", "zh": "base int8"},
            "threads": 1,
            "runs": args.runs,
            "filler_prompts": {"full": FILLER_PROMPT, "short": SHORT_FILLER_PROMPT},
            "speech": "espeak-ng; fillers spoken alone at 80 wpm with 0.2 s pauses",
            "zh_voices": ZH_VOICES,
            "echo": "question echoes with its own question / with another answer's question",
            "wer_zh": "per character",
        },
    }
    print(f"wrote {write_json('fillers', payload, args.out)}")


if __name__ == "__main__":
    main()
