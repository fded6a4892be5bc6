"""A finalized report as a printable HTML page (every value escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from pipeline.scoring.report_model import EvidenceSpan, Report, iso_seconds, load_report


def _bar(value: float | None) -> str:
    if value is None:
        return "–"
    return f'<meter min="0" max="100" value="{value:.0f}"></meter> {value:.0f}'


def _evidence(items: Sequence[EvidenceSpan]) -> str:
    if not items:
        return ""
    rows = "".join(
        f"<li><span class=k>{escape(e.kind)}</span> “{escape(e.text)}” "
        f"<span class=t>{e.start:.1f}–{e.end:.1f} s</span></li>"
        for e in items[:8]
    )
    return f"<ul class=ev>{rows}</ul>"


def render(report: Report | Mapping[str, Any]) -> str:
    """The page for a Report or a stored body (validated into one)."""
    r = load_report(report)
    name = escape(r.candidate_name or "")
    title = escape((r.requisition.title if r.requisition else None) or "")
    comps = "".join(
        f"<tr><th>{escape(n.replace('_', ' '))}</th><td>{_bar(s.value)}</td>"
        f"<td>{s.confidence:.2f}</td><td>{_evidence(s.evidence)}</td></tr>"
        for n, s in r.competencies.items()
    )
    questions = []
    for q in r.questions:
        lines = "".join(
            f"<p><span class=t>{u.start:.1f}–{u.end:.1f} s</span> {escape(u.text)}</p>"
            for u in q.transcript
        )
        scores = "".join(
            f"<tr><th>{escape(n.replace('_', ' '))}</th><td>{_bar(s.value)}</td>"
            f"<td>{_evidence(s.evidence)}</td></tr>"
            for n, s in q.scores.items()
        )
        questions.append(
            f"<section><h3>Question {q.index + 1}: {escape(q.question or '')}</h3>"
            f"{lines or '<p><em>No answer was transcribed.</em></p>'}"
            f"<table>{scores}</table></section>"
        )
    # Each flag as its JSON object reads (the keys it has), as the page always showed it.
    flags = (
        "".join(f"<li>{escape(str(f.model_dump(mode='json')))}</li>" for f in r.flags)
        or "<li>none</li>"
    )
    models = escape(", ".join(f"{k}: {v}" for k, v in r.models.items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Interview report · {name}</title>
<link rel="stylesheet" href="/static/style.css">
<style>table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;vertical-align:top;
padding:.3rem .5rem;border-bottom:1px solid #ddd}}.t{{color:#5b6475;font-size:.85rem}}
.k{{font-family:monospace;font-size:.8rem}}.ev{{margin:0;padding-left:1rem;font-size:.9rem}}
@media print{{body{{background:white}}}}</style></head>
<body><main>
<h1>Interview report</h1>
<p>{name} · {title}
· generated {escape(iso_seconds(r.generated_at))}</p>
<p><strong>Overall: {_bar(r.overall)}</strong></p>
<p class=small>{escape(r.decision)}</p>
<h2>Competencies</h2><table><tr><th></th><th>score</th><th>confidence</th><th>evidence</th></tr>
{comps}</table>
<h2>Answers</h2>{"".join(questions)}
<h2>Flags</h2><ul>{flags}</ul>
<h2>What the candidate is told</h2><p>{escape(r.candidate_summary)}</p>
<p class=small>Rubric {escape(r.rubric_version)} · report format
{r.report_version} · models: {models}</p>
</main></body></html>
"""
