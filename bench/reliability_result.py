"""A scenario's figures: each with its target and whether it was met, printed on one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Check:
    label: str
    value: Any
    shown: str  # the value as printed
    target: str = ""  # empty: a figure without a target
    ok: bool | None = None

    def line(self) -> str:
        if self.ok is None:
            return f"{self.label} {self.shown}"
        verdict = "ok" if self.ok else "MISSED"
        return f"{self.label} {self.shown} (target {self.target}: {verdict})"


@dataclass
class Result:
    scenario: str
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def add(
        self, label: str, value: Any, shown: str, target: str = "", ok: bool | None = None
    ) -> None:
        self.checks.append(Check(label, value, shown, target, ok))

    def line(self) -> str:
        head = f"{self.scenario:<11}"
        body = "; ".join(c.line() for c in self.checks)
        if self.error:
            body = (body + "; " if body else "") + f"ERROR: {self.error}"
        return f"{head} {body} [{self.seconds:.0f} s]"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "figures": [asdict(c) for c in self.checks],
            "met_all_targets": all(c.ok for c in self.checks if c.ok is not None)
            and self.error is None,
            "details": self.details,
        }


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]
