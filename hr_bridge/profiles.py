"""Candidate profiles (from resume data) and their match against a requisition's requirements.

Profile: {"education": [{"degree", "field", "school", "year"}], "experience": [{"title",
"company", "years"}], "skills": {"python": 60, ...} (level 0-100), "certificates": [...],
"facts": {"past_sales_results": 150, ...} (the HR system's own units)}: the Profile model.
Requirements: {"skills": {"python": 75}, "min_years": 3, "certificates": ["ITIL"]}.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic import Field as Bound
from sqlalchemy import JSON, Column, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from hr_bridge.models import UTCDateTime, utcnow

# Text a person or an HR system typed: no NUL (PostgreSQL text cannot hold it), bounded.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Label = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
Level = Annotated[float, Bound(ge=0, le=100, allow_inf_nan=False)]
Fact = Annotated[float, Bound(ge=-1e12, le=1e12, allow_inf_nan=False)]


class Education(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    degree: Label | None = None
    field: Label | None = None
    school: Label | None = None
    year: int | None = Bound(None, ge=1900, le=2100)


class Experience(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    title: Label | None = None
    company: Label | None = None
    years: float = Bound(0, ge=0, le=80, allow_inf_nan=False)


class Profile(BaseModel):
    """The profile's shape, checked wherever one comes in (API, files), so `match` and the
    interviewer's background page can rely on it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    education: list[Education] = Bound(default_factory=list, max_length=50)
    experience: list[Experience] = Bound(default_factory=list, max_length=100)
    skills: dict[Name, Level] = Bound(default_factory=dict, max_length=200)  # level 0-100
    certificates: list[Label] = Bound(default_factory=list, max_length=100)
    # HR-system facts in their own units (e.g. past sales results), read by hr_bridge.matching.
    facts: dict[Name, Fact] = Bound(default_factory=dict, max_length=200)
    synthetic: bool | None = None  # set on generated demo candidates


class Candidate(SQLModel, table=True):
    __tablename__ = "candidate"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=200, unique=True, index=True)  # the HR system's id
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    synthetic: bool = Field(default=False, index=True)  # generated demo/test data
    created_at: Any = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


@dataclass(frozen=True)
class MatchLine:
    requirement: str
    required: float | str
    actual: float | str | None
    percent: float
    reason: str


def years_of_experience(profile: dict[str, Any]) -> float:
    return float(sum(float(e.get("years", 0) or 0) for e in profile.get("experience", [])))


def match(
    profile: dict[str, Any], requirements: dict[str, Any]
) -> tuple[list[MatchLine], float | None]:
    """Each requirement with how much of it the profile meets (capped at 100%), and the mean."""
    lines: list[MatchLine] = []
    skills = {k.lower(): float(v) for k, v in (profile.get("skills") or {}).items()}
    for name, required in (requirements.get("skills") or {}).items():
        have = skills.get(name.lower(), 0.0)
        pct = 100.0 if float(required) <= 0 else min(100.0, 100 * have / float(required))
        lines.append(
            MatchLine(
                name,
                float(required),
                have,
                round(pct, 1),
                f"{name}: {pct:.0f}% of the requirement ({have:.0f} of {float(required):.0f})",
            )
        )
    if (min_years := requirements.get("min_years")) is not None:
        have_y = years_of_experience(profile)
        pct = 100.0 if float(min_years) <= 0 else min(100.0, 100 * have_y / float(min_years))
        lines.append(
            MatchLine(
                "experience",
                float(min_years),
                have_y,
                round(pct, 1),
                f"experience: {have_y:g} of {float(min_years):g} years",
            )
        )
    owned = {c.lower() for c in profile.get("certificates", [])}
    for cert in requirements.get("certificates") or []:
        ok = cert.lower() in owned
        lines.append(
            MatchLine(
                f"certificate {cert}",
                cert,
                cert if ok else None,
                100.0 if ok else 0.0,
                f"certificate {cert}: {'held' if ok else 'missing'}",
            )
        )
    overall = round(sum(x.percent for x in lines) / len(lines), 1) if lines else None
    return lines, overall


def parse_candidates(path: Path) -> list[dict[str, Any]]:
    """Candidates from JSON (a list of objects) or CSV (columns: ref, name, email, skills as
    "python:60;sql:80", years_experience, education, certificates as "a;b")."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of candidates")
        return [_check(c, i) for i, c in enumerate(data, 1)]
    out = []
    for i, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
        skills = {}
        for part in filter(None, (row.get("skills") or "").split(";")):
            name, _, level = part.partition(":")
            try:
                skills[name.strip()] = float(level)
            except ValueError:
                raise ValueError(f"{path}, line {i}: skill {part!r} is not name:level") from None
        profile = {
            "skills": skills,
            "experience": [{"title": "total", "years": float(row.get("years_experience") or 0)}],
            "education": [{"degree": row["education"]}] if row.get("education") else [],
            "certificates": [
                c.strip() for c in (row.get("certificates") or "").split(";") if c.strip()
            ],
        }
        out.append(
            _check(
                {
                    "ref": row.get("ref"),
                    "name": row.get("name"),
                    "email": row.get("email") or None,
                    "profile": profile,
                },
                i,
            )
        )
    return out


def _check(c: Any, where: int) -> dict[str, Any]:
    if not isinstance(c, dict) or not c.get("ref") or not c.get("name"):
        raise ValueError(f"candidate {where}: needs at least 'ref' and 'name'")
    try:
        profile = Profile.model_validate(c.get("profile") or {})
    except ValidationError as err:
        first = err.errors()[0]
        at = ".".join(str(x) for x in first["loc"])
        raise ValueError(f"candidate {where}: profile.{at}: {first['msg']}") from None
    return {
        "ref": str(c["ref"]),
        "name": str(c["name"]),
        "email": c.get("email"),
        "profile": profile.model_dump(exclude_none=True),
    }


def upsert_candidates(engine: Engine, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert new candidates and update known ones (by ref), in one transaction: (new, updated)."""
    new = updated = 0
    with Session(engine) as s:
        for r in rows:
            existing = s.exec(select(Candidate).where(Candidate.ref == r["ref"])).first()
            if existing is None:
                s.add(Candidate(**r))
                new += 1
            else:
                existing.name, existing.email, existing.profile = (
                    r["name"],
                    r["email"],
                    r["profile"],
                )
                s.add(existing)
                updated += 1
        s.commit()
    return new, updated


def get_candidate(engine: Engine, ref: str) -> Candidate | None:
    with Session(engine) as s:
        return s.exec(select(Candidate).where(Candidate.ref == ref)).first()


def list_candidates(engine: Engine) -> list[Candidate]:
    with Session(engine) as s:
        return list(s.exec(select(Candidate).order_by(col(Candidate.id))))
