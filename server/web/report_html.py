"""A finalized report as a printable HTML page (every value escaped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from pipeline.scoring.report_model import (
    CompetencyScore,
    EvidenceSpan,
    Report,
    iso_seconds,
    load_report,
)

# Per competency: {"mean", "n", "ratings": [{"rater", "score", "note", ...}]} (hr_bridge.ratings)
HumanRatings = Mapping[str, Mapping[str, Any]]
WITHOUT_VALUE = {
    "insufficient_evidence": "not enough evidence",
    "interviewer_only": "rated by interviewers only",
}


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


def _ai(s: CompetencyScore | None) -> str:
    if s is None:
        return "–"
    if s.value is None:
        return f"<em>{escape(WITHOUT_VALUE.get(s.status, s.status))}</em>"
    return _bar(s.value)


def _human(rated: Mapping[str, Any] | None) -> str:
    """The interviewers' mean, how many rated, and each rating with its note."""
    if not rated:
        return "<td>–</td>"
    notes = "".join(
        f"<li>{escape(str(x['rater']))}: {int(x['score'])}"
        + (f" – {escape(str(x['note']))}" if x.get("note") else "")
        + "</li>"
        for x in rated["ratings"]
    )
    return (
        f"<td><strong>{float(rated['mean']):.1f}</strong> / 5 "
        f"<span class=t>(n = {int(rated['n'])})</span><ul class=ev>{notes}</ul></td>"
    )


def _competencies(r: Report, human: HumanRatings | None) -> str:
    """Each competency's AI score, confidence and evidence, and with `human` the interviewers'
    ratings beside it (competencies only people rated included)."""
    names = list(r.competencies) + [k for k in human or {} if k not in r.competencies]
    head = "<tr><th></th><th>AI score</th><th>confidence</th>" + (
        "<th>interviewers (1-5)</th>" if human is not None else ""
    )
    rows = []
    for n in names:
        s = r.competencies.get(n)
        label = (s.label if s is not None else None) or n.replace("_", " ")
        rows.append(
            f"<tr><th>{escape(label)}</th><td>{_ai(s)}</td>"
            f"<td>{f'{s.confidence:.2f}' if s is not None else '–'}</td>"
            + (_human(human.get(n)) if human is not None else "")
            + f"<td>{_evidence(s.evidence) if s is not None else ''}</td></tr>"
        )
    return f"<table>{head}<th>evidence</th></tr>{''.join(rows)}</table>"


def render(report: Report | Mapping[str, Any], human: HumanRatings | None = None) -> str:
    """The page for a Report or a stored body (validated into one); with `human`, the
    interviewers' ratings beside the AI scores."""
    r = load_report(report)
    name = escape(r.candidate_name or "")
    title = escape((r.requisition.title if r.requisition else None) or "")
    comps = _competencies(r, human)
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
<h2>Competencies</h2>{comps}
<h2>Answers</h2>{"".join(questions)}
<h2>Flags</h2><ul>{flags}</ul>
<h2>What the candidate is told</h2><p>{escape(r.candidate_summary)}</p>
<p class=small>Rubric {escape(r.rubric_version)} · report format
{r.report_version} · models: {models}</p>
</main></body></html>
"""
