"""How much context a segment's final needs: encoder padding and acoustic lead-in, offline.

    python -m bench.asr_context [--answers N] [--variant NAME ...] [--out FILE]

The live ASR stage decodes each segment of a long answer on its own, primed with the text
before it; segments are where its streamed WER loses to an offline decode of the same audio
(bench.asr_incremental). Here every sentence of `--answers` long answers (bench.
asr_incremental's sentences, rotated) is decoded as its own segment, after the trip through
WebRTC-sized frames and the ingress (`as_received`), the way the stage decodes a final:

- `primed`: with the disfluent prompt and the 40 words before it (the live stage today),
  and 0.2 s of the quiet before it (every variant has at least that);
- `padded_P`: the same, with silence after the audio up to P seconds of encoder input;
- `lead_L`, `lead_L_primed`: with up to L seconds of the answer's audio before the sentence
  in front of it, unprimed or primed, keeping the words whose middle falls after the cut;
- `lead_N_sentences`: the N whole sentences before it in front of it, primed with the text
  before those (a lead-in that starts in a pause, as a live segment's does).

Per variant: WER over all sentences and the median decode time (one thread). Writes
`bench/results/asr_context.json`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.asr_incremental import SENTENCE_GAP_S, SENTENCES, long_answers
from bench.common import write_json
from bench.speech import SR, as_received, read_wav, synth, trimmed
from models_onnx.whisper import TAIL_PAD_S, WhisperAsr
from pipeline.asr_stage import FILLER_PROMPT, AsrConfig, asr_prompt, previous_text
from pipeline.text import wer
from server.models import whisper_dir
from server.settings import load_settings

PRE_ROLL_S = 0.2  # silence before the first sentence, and at least this much before each
CUT_SLACK_S = 0.05  # a word whose middle is this close before the cut still counts as after


@dataclass(frozen=True)
class Variant:
    name: str
    pad_to_s: float = 0.0
    lead_s: float = 0.0
    primed: bool = True
    lead_sentences: int = 0  # whole sentences before it as lead-in, primed with what precedes


VARIANTS = [
    Variant("primed"),
    *(Variant(f"padded_{p}", pad_to_s=p) for p in (10, 15, 30)),
    *(Variant(f"lead_{s}", lead_s=s, primed=False) for s in (2, 4, 8)),
    *(Variant(f"lead_{s}_primed", lead_s=s) for s in (4, 8)),
    *(Variant(f"lead_{n}_sentences", lead_sentences=n) for n in (1, 2)),
]


def decode_answer(
    model: WhisperAsr,
    sentences: list[str],
    audio: dict[str, npt.NDArray[np.float32]],
    v: Variant,
) -> tuple[list[str], list[float]]:
    """Each sentence of one answer decoded as its own segment: texts and decode seconds."""
    gap = np.zeros(int(SENTENCE_GAP_S * SR), np.float32)
    before = np.zeros(int(PRE_ROLL_S * SR), np.float32)
    committed: list[str] = []
    texts, times = [], []
    units = AsrConfig().context_units
    starts: list[int] = []  # where each sentence begins in `before`
    for k, sentence in enumerate(sentences):
        segment = np.concatenate([audio[sentence], gap])
        # At least the quiet before the sentence, as a live segment starts in its pause.
        lead = before[max(0, len(before) - int(max(v.lead_s, PRE_ROLL_S) * SR)) :]
        context = tuple(committed)
        if v.lead_sentences and k:
            n = min(v.lead_sentences, k)
            lead = before[max(0, starts[k - n] - int(PRE_ROLL_S * SR)) :]
            context = context[:-n]  # the text before the lead-in, not the lead-in's own
        starts.append(len(before))
        pcm = as_received(np.concatenate([lead, segment]))
        cut_s = len(lead) / SR
        if v.pad_to_s:
            room = int((v.pad_to_s - TAIL_PAD_S) * SR) - len(pcm)
            pcm = np.concatenate([pcm, np.zeros(max(0, room), np.float32)])
        previous = previous_text(context, "en", units) if v.primed else None
        prompt = asr_prompt("en", None, FILLER_PROMPT["en"], previous)
        t0 = time.perf_counter()
        hyp = model.decode(pcm, "en", prompt, word_timestamps=True)
        times.append(time.perf_counter() - t0)
        if v.lead_s or v.lead_sentences:
            kept = [w.text for w in hyp.words if (w.start + w.end) / 2 >= cut_s - CUT_SLACK_S]
            text = "".join(kept).strip()
        else:
            text = hyp.text
        committed.append(text)
        texts.append(text)
        before = np.concatenate([before, segment])
    return texts, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=6, help="long answers (8 sentences each)")
    ap.add_argument("--variant", action="append", help="only these variants (repeatable)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    answers = long_answers(args.answers)
    with tempfile.TemporaryDirectory() as tmp:
        audio = {
            s: trimmed(read_wav(synth(s, Path(tmp) / f"s{k}.wav"))) for k, s in enumerate(SENTENCES)
        }
    model = WhisperAsr(whisper_dir(load_settings(), "en"))
    model.decode(audio[SENTENCES[0]])  # the first decode also builds the model's shapes
    reference = " ".join(" ".join(a) for a in answers)
    results: dict[str, Any] = {}
    for v in VARIANTS:
        if args.variant and v.name not in args.variant:
            continue
        texts, times = [], []
        for sentences in answers:
            t, d = decode_answer(model, sentences, audio, v)
            texts += t
            times += d
        results[v.name] = {
            "wer": round(wer(reference, " ".join(texts)), 4),
            "decode_ms_p50": round(1000 * statistics.median(times), 1),
            "pad_to_s": v.pad_to_s,
            "lead_s": v.lead_s,
            "primed": v.primed,
        }
        r = results[v.name]
        print(f"  {v.name:<16} WER {r['wer']:.3f}   decode p50 {r['decode_ms_p50']:.0f} ms")
    path = write_json("asr_context", {"answers": args.answers, "variants": results}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
