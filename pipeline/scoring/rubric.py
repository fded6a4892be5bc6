"""Rubrics: what a requisition measures (competencies with weights, each mapped to a measure
of the catalogue or rated by interviewers only) and what each question targets (competencies,
expected key concepts with synonyms). Loaded from the requisition in the store, or from a
YAML or JSON file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.scoring.catalogue import CATALOGUE, normalise, resolve

DEFAULT_COMPETENCIES = tuple(CATALOGUE)


@dataclass(frozen=True)
class RubricCompetency:
    """One competency of a requisition: its key (the normalised name reports use), the name
    as written, its weight (normalised), the catalogue measure that scores it (None: rated by
    interviewers only) and the anchors of its 1-5 rating scale for human raters."""

    key: str
    label: str
    weight: float
    measure: str | None
    anchors: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Concept:
    name: str
    synonyms: tuple[str, ...] = ()

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class RubricQuestion:
    text: str
    time_limit_s: int = 120
    targets: tuple[str, ...] = ()
    concepts: tuple[Concept, ...] = ()


@dataclass(frozen=True)
class Rubric:
    language: str
    competencies: tuple[RubricCompetency, ...]
    questions: tuple[RubricQuestion, ...]

    @property
    def weights(self) -> dict[str, float]:
        """Competency key -> weight (summing to 1)."""
        return {c.key: c.weight for c in self.competencies}

    @property
    def measures(self) -> dict[str, str | None]:
        """Competency key -> catalogue measure (None: rated by interviewers only)."""
        return {c.key: c.measure for c in self.competencies}

    @property
    def version(self) -> str:
        """A content hash: reports name the exact rubric they were scored with."""
        body = json.dumps(
            {"l": self.language, "w": self.weights, "m": self.measures,
             "q": [[q.text, q.time_limit_s, q.targets, [c.forms for c in q.concepts]]
                   for q in self.questions]},
            sort_keys=True, ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(body.encode()).hexdigest()[:12]


def _anchors(name: str, raw: Any) -> dict[int, str]:
    anchors = {int(level): str(text) for level, text in (raw or {}).items()}
    if any(not 1 <= level <= 5 for level in anchors):
        raise ValueError(f"competency {name!r}: anchors are for ratings 1 to 5")
    return dict(sorted(anchors.items()))


def competencies_from(raw: list[Any]) -> tuple[RubricCompetency, ...]:
    """A requisition's competencies: names (equal weights) or {"name", "weight", "measure",
    "anchors"}. Raises ValueError (UnknownMeasure for a mapping to no measure) with the
    competency named."""
    items: list[tuple[str, float, str | None, dict[int, str]]] = []
    for c in raw:
        if isinstance(c, str):
            name, weight, measure, anchors = c, 1.0, resolve(c), {}
        else:
            name, weight = c["name"], float(c.get("weight", 1))
            measure = resolve(name, c.get("measure"))
            anchors = _anchors(name, c.get("anchors"))
        if weight < 0:
            raise ValueError(f"competency {name!r}: weight must not be negative")
        items.append((name, weight, measure, anchors))
    keys = [normalise(name) for name, *_ in items]
    if len(set(keys)) != len(keys):
        raise ValueError("competencies: the same name twice")
    total = sum(w for _, w, _, _ in items) or 1.0
    return tuple(
        RubricCompetency(key, name.strip(), w / total, measure, anchors)
        for key, (name, w, measure, anchors) in zip(keys, items, strict=True)
    )


def rubric_from_dict(data: dict[str, Any]) -> Rubric:
    """From a requisition's fields (see competencies_from); questions may list `targets` and
    `concepts` (names or {"name", "synonyms"})."""
    competencies = competencies_from(data.get("competencies") or list(DEFAULT_COMPETENCIES))
    questions = []
    for q in data.get("questions", []):
        concepts = tuple(
            Concept(c) if isinstance(c, str) else Concept(c["name"], tuple(c.get("synonyms", ())))
            for c in q.get("concepts", ())
        )
        questions.append(
            RubricQuestion(
                q["text"],
                int(q.get("time_limit_s", 120)),
                tuple(normalise(t) for t in q.get("targets", ())),
                concepts,
            )
        )
    return Rubric(data.get("language", "en"), competencies, tuple(questions))


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML (.yaml/.yml) or JSON file holding one mapping (a requisition or rubric)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a rubric is a mapping with competencies and questions")
    return data


def load_rubric(path: Path) -> Rubric:
    return rubric_from_dict(read_mapping(path))
