"""A finalized report as a printable HTML page (every value escaped)."""

from __future__ import annotations

from html import escape
from typing import Any


def _bar(value: float | None) -> str:
    if value is None:
        return "–"
    return f'<meter min="0" max="100" value="{value:.0f}"></meter> {value:.0f}'


def _evidence(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(
        f"<li><span class=k>{escape(e['kind'])}</span> “{escape(e['text'])}” "
        f"<span class=t>{e['start']:.1f}–{e['end']:.1f} s</span></li>"
        for e in items[:8]
    )
    return f"<ul class=ev>{rows}</ul>"


def render(report: dict[str, Any]) -> str:
    req = report.get("requisition") or {}
    comps = "".join(
        f"<tr><th>{escape(name.replace('_', ' '))}</th><td>{_bar(s['value'])}</td>"
        f"<td>{s['confidence']:.2f}</td><td>{_evidence(s['evidence'])}</td></tr>"
        for name, s in report["competencies"].items()
    )
    questions = []
    for q in report["questions"]:
        lines = "".join(
            f"<p><span class=t>{u['start']:.1f}–{u['end']:.1f} s</span> {escape(u['text'])}</p>"
            for u in q["transcript"]
        )
        scores = "".join(
            f"<tr><th>{escape(n.replace('_', ' '))}</th><td>{_bar(s['value'])}</td>"
            f"<td>{_evidence(s['evidence'])}</td></tr>"
            for n, s in q["scores"].items()
        )
        questions.append(
            f"<section><h3>Question {q['index'] + 1}: {escape(q['question'] or '')}</h3>"
            f"{lines or '<p><em>No answer was transcribed.</em></p>'}"
            f"<table>{scores}</table></section>"
        )
    flags = "".join(f"<li>{escape(str(f))}</li>" for f in report["flags"]) or "<li>none</li>"
    models = escape(", ".join(f"{k}: {v}" for k, v in report["models"].items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Interview report · {escape(str(report.get("candidate_name") or ""))}</title>
<link rel="stylesheet" href="/static/style.css">
<style>table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;vertical-align:top;
padding:.3rem .5rem;border-bottom:1px solid #ddd}}.t{{color:#5b6475;font-size:.85rem}}
.k{{font-family:monospace;font-size:.8rem}}.ev{{margin:0;padding-left:1rem;font-size:.9rem}}
@media print{{body{{background:white}}}}</style></head>
<body><main>
<h1>Interview report</h1>
<p>{escape(str(report.get("candidate_name") or ""))} · {escape(str(req.get("title") or ""))}
· generated {escape(report["generated_at"])}</p>
<p><strong>Overall: {_bar(report["overall"])}</strong></p>
<p class=small>{escape(report["decision"])}</p>
<h2>Competencies</h2><table><tr><th></th><th>score</th><th>confidence</th><th>evidence</th></tr>
{comps}</table>
<h2>Answers</h2>{"".join(questions)}
<h2>Flags</h2><ul>{flags}</ul>
<h2>What the candidate is told</h2><p>{escape(report["candidate_summary"])}</p>
<p class=small>Rubric {escape(report["rubric_version"])} · report format
{report["report_version"]} · models: {models}</p>
</main></body></html>
"""
