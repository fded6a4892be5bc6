"""Scoring quality: does the scorer order answers the way their designed quality does?

A ladder of interview answers (bench/ladder/en.yaml, zh.yaml: every question answered at five
designed levels, strong > adequate > vague > non-answer, plus a fluent off-topic answer) is
spoken with espeak-ng, one recording per language and level holding that level's answers to
all questions with 2 s of silence between them, and scored offline by the product:
`hirestream analyze FILE --requisition REQ.yaml --answers TIMES.json --json`.

Reported per language and competency: Spearman's rho between the designed order and the
scores over all answers (an abstention ranks below every value, and abstentions are counted
apart), the share of non-answers that abstain or score lowest within their question, and how
often a non-answer outranks the adequate answer; per language the share of off-topic answers
below the adequate one on job_knowledge and the filler recall (fillers spoken vs fillers in
the transcript); the wall time. Writes bench/results/scoring_quality.json.

    python -m bench.scoring_quality [--language en --language zh] [--out FILE] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats  # type: ignore[import-untyped]  # scipy ships no type stubs
import yaml

from bench import speech
from bench.common import RESULTS, write_json

LADDER = Path(__file__).resolve().parent / "ladder"
CACHE = RESULTS / "cache" / "scoring_quality"
LEVELS = ("strong", "adequate", "vague", "non_answer", "off_topic")
# espeak-ng 1.51's "cmn" voice reads its pinyin with English letter sounds (Whisper hears
# digits and English words); "cmn-latn-pinyin" speaks the same characters as Mandarin, and
# Whisper recognises its female variant (+f3) far better than the male default.
VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin+f3"}
RATE_WPM = 150
GAP_S = 2.0  # silence between answers; each question is asked in the middle of it
TIMEOUT_S = 1800

# Designed rank of each level per competency (higher is better; equal ranks are ties). A level
# left out is not part of that competency's design: off-topic answers are fluent and
# structured, so only their job knowledge is expected to be low. Engagement is measured from
# the face, which audio recordings do not have.
DESIGN: dict[str, dict[str, int]] = {
    "job_knowledge": {"strong": 4, "adequate": 3, "vague": 2, "off_topic": 1, "non_answer": 1},
    "logical_structure": {"strong": 4, "adequate": 3, "vague": 2, "non_answer": 1},
    "communication": {"strong": 3, "adequate": 3, "vague": 2, "non_answer": 1},
    "composure": {"strong": 2, "adequate": 2, "vague": 2, "non_answer": 1},
}

# Each counted filler and the spellings a transcript may give it.
FILLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"um": ("um", "umm", "uhm"), "uh": ("uh", "uhh"), "erm": ("erm", "er")},
    "zh": {"嗯": ("嗯",), "呃": ("呃",), "那个": ("那个",)},
}


@dataclass(frozen=True)
class Answer:
    language: str
    question: int  # index into the ladder's questions
    level: str
    text: str
    fillers: dict[str, int]  # filler -> times spoken
    key_phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ladder:
    language: str
    requisition: dict[str, Any]  # the ladder's mapping without the answers
    answers: tuple[Answer, ...]

    def answer(self, question: int, level: str) -> Answer:
        return next(a for a in self.answers if a.question == question and a.level == level)

    def level(self, level: str) -> list[Answer]:
        return [a for a in self.answers if a.level == level]

    def question(self, index: int) -> list[Answer]:
        return [a for a in self.answers if a.question == index]


def count_fillers(text: str, language: str) -> Counter[str]:
    """Fillers in a text: whole words in English, substrings in Chinese."""
    found: Counter[str] = Counter()
    if language == "zh":
        for name, forms in FILLERS[language].items():
            found[name] = sum(text.count(f) for f in forms)
    else:
        words = Counter(re.findall(r"[a-z']+", text.lower()))
        for name, forms in FILLERS[language].items():
            found[name] = sum(words[f] for f in forms)
    return +found


def load_ladder(path: Path) -> Ladder:
    """A ladder file; every question must have every level, and each answer's declared
    fillers must be the ones its text speaks."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    language = data["language"]
    answers = []
    questions = []
    for qi, q in enumerate(data["questions"]):
        levels = q.get("answers", {})
        if set(levels) != set(LEVELS):
            raise ValueError(f"{path}: question {qi} has levels {sorted(levels)}, not {LEVELS}")
        for level in LEVELS:
            spec = levels[level]
            fillers = {str(k): int(v) for k, v in (spec.get("fillers") or {}).items()}
            if count_fillers(spec["text"], language) != Counter(fillers):
                raise ValueError(
                    f"{path}: question {qi} {level}: declared fillers {fillers}, the text "
                    f"has {dict(count_fillers(spec['text'], language))}"
                )
            answers.append(
                Answer(
                    language, qi, level, spec["text"], fillers, tuple(spec.get("key_phrases", ()))
                )
            )
        questions.append({k: v for k, v in q.items() if k != "answers"})
    requisition = {k: v for k, v in data.items() if k != "questions"}
    return Ladder(language, {**requisition, "questions": questions}, tuple(answers))


def ladder(language: str) -> Ladder:
    return load_ladder(LADDER / f"{language}.yaml")


def requisition_for(ladder: Ladder, answers: Sequence[Answer]) -> dict[str, Any]:
    """The requisition whose i-th question is the one `answers[i]` answers (for a whole
    level, the ladder's own questions)."""
    questions = ladder.requisition["questions"]
    return {**ladder.requisition, "questions": [questions[a.question] for a in answers]}


# Speech


def spoken(answer: Answer, cache: Path) -> Path:
    """The answer as 16 kHz mono speech, synthesized once per voice, rate and text."""
    voice = VOICES[answer.language]
    key = hashlib.sha256(f"{voice}|{RATE_WPM}|{answer.text}".encode()).hexdigest()[:16]
    path = cache / f"{answer.language}-{key}.wav"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        part = cache / f"{answer.language}-{key}.part.wav"
        speech.synth(answer.text, part, voice=voice, rate_wpm=RATE_WPM)
        part.replace(path)
    return path


@dataclass(frozen=True)
class Recording:
    audio: Path
    times: Path  # [{"index": i, "start": s}]: the i-th question is asked at s
    starts: tuple[float, ...]
    answers: tuple[Answer, ...]  # answers[i] answers question i
    duration_s: float


def build_recording(answers: Sequence[Answer], folder: Path, name: str, cache: Path) -> Recording:
    """The answers one after another with GAP_S of silence around each; question i is asked
    GAP_S / 2 before its answer's audio starts (the first one at 0)."""
    gap = np.zeros(int(GAP_S * speech.SR), np.float32)
    parts = [gap[: len(gap) // 2]]
    starts = []
    t = GAP_S / 2
    for a in answers:
        pcm = speech.read_wav(spoken(a, cache))
        starts.append(round(t - GAP_S / 2, 3))
        parts += [pcm, gap]
        t += len(pcm) / speech.SR + GAP_S
    folder.mkdir(parents=True, exist_ok=True)
    audio = speech.write_wav(folder / f"{name}.wav", np.concatenate(parts))
    times = folder / f"{name}.times.json"
    times.write_text(json.dumps([{"index": i, "start": s} for i, s in enumerate(starts)]))
    return Recording(audio, times, tuple(starts), tuple(answers), round(t - GAP_S / 2, 3))


def no_speech_recording(folder: Path, seconds: float = 20.0, questions: int = 2) -> Recording:
    """Faint noise only (no one speaks), with `questions` questions asked evenly over it."""
    rng = np.random.default_rng(12)
    pcm = (0.003 * rng.standard_normal(int(seconds * speech.SR))).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    audio = speech.write_wav(folder / "no_speech.wav", pcm)
    starts = tuple(round(i * seconds / questions, 3) for i in range(questions))
    times = folder / "no_speech.times.json"
    times.write_text(json.dumps([{"index": i, "start": s} for i, s in enumerate(starts)]))
    return Recording(audio, times, starts, (), seconds)


# Scoring


def hirestream() -> list[str]:
    """The product's command: the entry point beside this interpreter."""
    exe = Path(sys.executable).with_name("hirestream")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "server"]


def analyze(
    recording: Recording, requisition: dict[str, Any], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The offline report of one recording scored against `requisition`."""
    req = recording.audio.with_suffix(".requisition.yaml")
    req.write_text(yaml.safe_dump(requisition, allow_unicode=True, sort_keys=False))
    cmd = [
        *hirestream(), "analyze", str(recording.audio), "--requisition", str(req),
        "--answers", str(recording.times), "--json",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def value_of(score: dict[str, Any] | None) -> float | None:
    """A score's value, or None when it abstained (or is absent)."""
    if score is None or score.get("status", "scored") != "scored":
        return None
    value = score.get("value")
    return None if value is None else float(value)


@dataclass
class Scored:
    answer: Answer
    scores: dict[str, dict[str, Any]]  # competency -> the report's score object
    transcript: str  # the lines that reached the scorer
    heard: Counter[str] = field(default_factory=Counter)  # fillers in `transcript`
    dropped: list[str] = field(default_factory=list)  # "reason: text" of lines kept out

    def value(self, competency: str) -> float | None:
        return value_of(self.scores.get(competency))

    def status(self, competency: str) -> str:
        s = self.scores.get(competency)
        return "absent" if s is None else str(s.get("status", "scored"))


def scored_answers(recording: Recording, report: dict[str, Any]) -> list[Scored]:
    by_index = {q["index"]: q for q in report["questions"]}
    out = []
    for i, a in enumerate(recording.answers):
        q = by_index.get(i, {})
        sep = "" if a.language == "zh" else " "
        lines = q.get("transcript", [])
        text = sep.join(line["text"].strip() for line in lines if not line.get("dropped"))
        dropped = [f"{line['dropped']}: {line['text']}" for line in lines if line.get("dropped")]
        heard = count_fillers(text, a.language)
        out.append(Scored(a, dict(q.get("scores", {})), text, heard, dropped))
    return out


# Statistics


def rank_key(value: float | None) -> float:
    """Abstentions rank below every value."""
    return -1.0 if value is None else value


def _share(hits: int, n: int) -> dict[str, Any]:
    return {"hits": hits, "n": n, "share": round(hits / n, 3) if n else None}


def competency_stats(rows: Sequence[Scored], competency: str) -> dict[str, Any]:
    design = DESIGN.get(competency, {})
    abstained = Counter(r.answer.level for r in rows if r.value(competency) is None)
    pairs = [
        (design[r.answer.level], rank_key(r.value(competency)))
        for r in rows
        if r.answer.level in design
    ]
    rho = None
    if pairs and any(v >= 0 for _, v in pairs):
        stat = scipy.stats.spearmanr([d for d, _ in pairs], [v for _, v in pairs]).statistic
        rho = None if math.isnan(stat) else round(float(stat), 3)
    lowest = over_adequate = considered = 0
    for q in sorted({r.answer.question for r in rows}):
        level = {r.answer.level: r for r in rows if r.answer.question == q}
        if "non_answer" not in level or all(r.value(competency) is None for r in level.values()):
            continue
        considered += 1
        na = rank_key(level["non_answer"].value(competency))
        others = [rank_key(r.value(competency)) for k, r in level.items() if k != "non_answer"]
        lowest += na < 0 or na <= min(others)
        if "adequate" in level:
            over_adequate += na > rank_key(level["adequate"].value(competency))
    return {
        "designed": bool(design),
        "rho": rho,
        "n": len(pairs),
        "values": sum(r.value(competency) is not None for r in rows),
        "abstained": {lv: abstained[lv] for lv in LEVELS if abstained[lv]},
        "statuses": dict(Counter(r.status(competency) for r in rows)),
        "non_answer_lowest": _share(lowest, considered),
        "non_answer_over_adequate": _share(over_adequate, considered),
        "mean_by_level": {
            lv: round(float(np.mean(vs)), 1)
            for lv in LEVELS
            if (
                vs := [
                    v
                    for r in rows
                    if r.answer.level == lv
                    if (v := r.value(competency)) is not None
                ]
            )
        },
    }


def off_topic_below_adequate(rows: Sequence[Scored]) -> dict[str, Any]:
    hits = n = 0
    for q in sorted({r.answer.question for r in rows}):
        level = {r.answer.level: r for r in rows if r.answer.question == q}
        if "off_topic" in level and "adequate" in level:
            n += 1
            off, ok = (rank_key(level[k].value("job_knowledge")) for k in ("off_topic", "adequate"))
            hits += off < ok
    return _share(hits, n)


def filler_recall(rows: Sequence[Scored]) -> dict[str, Any]:
    """Per filler: spoken, heard (each answer's count capped at what it spoke), recall; any
    filler for any other (a recogniser may write "uh" as "um"); fillers heard beyond what was
    spoken."""
    spoken_n: Counter[str] = Counter()
    heard_n: Counter[str] = Counter()
    extra = any_heard = 0
    for r in rows:
        any_heard += min(sum(r.answer.fillers.values()), sum(r.heard.values()))
        for name in set(r.answer.fillers) | set(r.heard):
            said, heard = r.answer.fillers.get(name, 0), r.heard.get(name, 0)
            spoken_n[name] += said
            heard_n[name] += min(said, heard)
            extra += max(0, heard - said)
    per = {name: _share(heard_n[name], spoken_n[name]) for name in sorted(spoken_n)}
    total = _share(sum(heard_n.values()), sum(spoken_n.values()))
    return {
        "per_filler": per,
        "all": total,
        "any_for_any": _share(any_heard, total["n"]),
        "heard_beyond_spoken": extra,
    }


def language_stats(rows: Sequence[Scored], competencies: Sequence[str]) -> dict[str, Any]:
    per = {c: competency_stats(rows, c) for c in competencies}
    pooled = [per[c]["non_answer_lowest"] for c in competencies]
    return {
        "answers": len(rows),
        "competencies": per,
        "non_answer_lowest_all": _share(
            sum(p["hits"] for p in pooled), sum(p["n"] for p in pooled)
        ),
        "off_topic_below_adequate_job_knowledge": off_topic_below_adequate(rows),
        "filler_recall": filler_recall(rows),
    }


# The run


def _fmt_share(s: dict[str, Any]) -> str:
    return f"{s['hits']}/{s['n']}" if s["n"] else "-"


def format_table(results: dict[str, Any]) -> str:
    head = (
        f"{'lang':<5}{'competency':<19}{'rho':>7}{'n':>4}{'values':>8}  "
        f"{'abstained (by level)':<32}{'non-answer lowest':>18}{'non-answer > adequate':>23}"
    )
    lines = [head, "-" * len(head)]
    for lang, st in results["languages"].items():
        for comp, c in st["competencies"].items():
            rho = "n/a" if c["rho"] is None else f"{c['rho']:.2f}"
            if not c["designed"]:
                rho = "-"
            abst = ", ".join(f"{k} {v}" for k, v in c["abstained"].items()) or "none"
            lines.append(
                f"{lang:<5}{comp:<19}{rho:>7}{c['n']:>4}{c['values']:>8}  {abst:<32}"
                f"{_fmt_share(c['non_answer_lowest']):>18}"
                f"{_fmt_share(c['non_answer_over_adequate']):>23}"
            )
    lines.append("")
    for lang, st in results["languages"].items():
        fr = st["filler_recall"]
        per = ", ".join(f"{k} {_fmt_share(v)}" for k, v in fr["per_filler"].items())
        recall = fr["all"]["share"]
        lines += [
            f"{lang}: non-answers abstaining or lowest, all competencies: "
            f"{_fmt_share(st['non_answer_lowest_all'])}; off-topic below adequate on "
            f"job_knowledge: {_fmt_share(st['off_topic_below_adequate_job_knowledge'])}",
            f"{lang}: filler recall {_fmt_share(fr['all'])}"
            f" ({'n/a' if recall is None else f'{recall:.2f}'}; {per}); any filler for any "
            f"{_fmt_share(fr['any_for_any'])}; heard beyond spoken {fr['heard_beyond_spoken']}",
            f"{lang}: interview overall by level: "
            + ", ".join(f"{k} {v}" for k, v in st["overall_by_level"].items()),
        ]
    ns = results.get("no_speech")
    if ns:
        lines.append(
            f"no speech: {ns['values']} values, overall {ns['overall']}, flags {ns['flags']}"
        )
    t = results["timing"]
    lines.append(
        f"wall {t['wall_s']:.0f} s (synthesis {t['synth_s']:.0f} s, analyze {t['analyze_s']:.0f} s"
        f" for {t['audio_s']:.0f} s of audio)"
    )
    return "\n".join(lines)


def _answer_row(r: Scored, rec: Recording) -> dict[str, Any]:
    i = rec.answers.index(r.answer)
    return {
        "language": r.answer.language,
        "question": r.answer.question,
        "level": r.answer.level,
        "start": rec.starts[i],
        "scores": {
            c: {"value": r.value(c), "status": r.status(c)}
            | ({"needs": s["needs"]} if s.get("needs") else {})
            for c, s in r.scores.items()
        },
        "transcript": r.transcript,
        "dropped": r.dropped,
        "fillers_spoken": r.answer.fillers,
        "fillers_heard": dict(r.heard),
    }


def run(languages: Sequence[str], cache: Path) -> dict[str, Any]:
    started = time.monotonic()
    synth_s = analyze_s = audio_s = 0.0
    out: dict[str, Any] = {"languages": {}, "answers": [], "recordings": []}
    folder = cache / "recordings"
    for lang in languages:
        lad = ladder(lang)
        competencies = [
            c if isinstance(c, str) else c["name"] for c in lad.requisition["competencies"]
        ]
        rows: list[Scored] = []
        overall: dict[str, float | None] = {}
        for level in LEVELS:
            t0 = time.monotonic()
            answers = lad.level(level)
            rec = build_recording(answers, folder, f"{lang}-{level}", cache)
            t1 = time.monotonic()
            report = analyze(rec, requisition_for(lad, answers))
            t2 = time.monotonic()
            # The whole report beside its recording, for reading the evidence behind a number.
            rec.audio.with_suffix(".report.json").write_text(
                json.dumps(report, ensure_ascii=False, indent=1)
            )
            overall[level] = report.get("overall")
            synth_s += t1 - t0
            analyze_s += t2 - t1
            audio_s += rec.duration_s
            got = scored_answers(rec, report)
            rows += got
            out["answers"] += [_answer_row(r, rec) for r in got]
            out["recordings"].append(
                {
                    "language": lang,
                    "level": level,
                    "duration_s": rec.duration_s,
                    "analyze_s": round(t2 - t1, 1),
                    "overall": report.get("overall"),
                    "flags": [f["flag"] for f in report.get("flags", [])],
                }
            )
            print(f"{lang} {level}: {rec.duration_s:.0f} s scored in {t2 - t1:.1f} s", flush=True)
        out["languages"][lang] = {
            **language_stats(rows, competencies),
            "overall_by_level": overall,
        }
    lad = ladder(languages[0])
    rec = no_speech_recording(folder)
    t1 = time.monotonic()
    report = analyze(rec, requisition_for(lad, lad.level("strong")[:2]))
    analyze_s += time.monotonic() - t1
    out["no_speech"] = {
        "values": sum(
            value_of(s) is not None for q in report["questions"] for s in q["scores"].values()
        ),
        "overall": report.get("overall"),
        "flags": [f["flag"] for f in report.get("flags", [])],
    }
    out["timing"] = {
        "wall_s": round(time.monotonic() - started, 1),
        "synth_s": round(synth_s, 1),
        "analyze_s": round(analyze_s, 1),
        "audio_s": round(audio_s, 1),
    }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring_quality", description=__doc__)
    parser.add_argument("--language", action="append", choices=sorted(VOICES), dest="languages")
    parser.add_argument("--out", type=Path, default=None, help="JSON result file")
    parser.add_argument("--cache", type=Path, default=CACHE, help="synthesized speech folder")
    args = parser.parse_args(argv)
    results = run(args.languages or ["en", "zh"], args.cache)
    print(format_table(results))
    path = write_json("scoring_quality", results, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
