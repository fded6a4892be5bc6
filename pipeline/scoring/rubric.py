"""Rubrics: what a requisition measures (competencies with weights) and what each question
targets (competencies, expected key concepts with synonyms). Loaded from the requisition in
the store, or from a YAML or JSON file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_COMPETENCIES = (
    "communication",
    "logical_structure",
    "job_knowledge",
    "engagement",
    "composure",
)


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
    weights: dict[str, float]  # competency -> weight (normalised to sum 1)
    questions: tuple[RubricQuestion, ...]

    @property
    def version(self) -> str:
        """A content hash: reports name the exact rubric they were scored with."""
        body = json.dumps(
            {"l": self.language, "w": self.weights,
             "q": [[q.text, q.time_limit_s, q.targets, [c.forms for c in q.concepts]]
                   for q in self.questions]},
            sort_keys=True, ensure_ascii=False,
        )  # fmt: skip
        return hashlib.sha256(body.encode()).hexdigest()[:12]


def rubric_from_dict(data: dict[str, Any]) -> Rubric:
    """From a requisition's fields. Competencies may be names (equal weights) or
    {"name", "weight"}; questions may list `targets` and `concepts` (names or
    {"name", "synonyms"})."""
    raw = data.get("competencies") or list(DEFAULT_COMPETENCIES)
    weights: dict[str, float] = {}
    for c in raw:
        name, weight = (c, 1.0) if isinstance(c, str) else (c["name"], float(c.get("weight", 1)))
        if weight < 0:
            raise ValueError(f"competency {name!r}: weight must not be negative")
        weights[name.strip().lower().replace(" ", "_")] = weight
    total = sum(weights.values()) or 1.0
    weights = {k: v / total for k, v in weights.items()}
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
                tuple(t.strip().lower().replace(" ", "_") for t in q.get("targets", ())),
                concepts,
            )
        )
    return Rubric(data.get("language", "en"), weights, tuple(questions))


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
