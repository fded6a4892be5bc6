"""The finalized interview report: a pure function of the scorer and the session's facts.

Everything a recruiter needs to check a score: per question the transcript with times and
the scores with their evidence; flags; per-competency and overall results; the model and
rubric versions; and a plain-language summary the candidate may see. Its shape is
pipeline.scoring.report_model.Report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.events import Event, FaceObservation, MediaGap, StageDegraded
from pipeline.scoring.catalogue import CATALOGUE
from pipeline.scoring.report_model import (
    DECISION_NOTE,
    REPORT_VERSION,
    CompetencyScore,
    EvidenceSpan,
    Flag,
    QuestionResult,
    Report,
    RequisitionRef,
    TranscriptLine,
)
from pipeline.scoring.scorer import Score, Scorer

LONG_ABSENCE_S = 5.0


@dataclass
class SessionFacts:
    """What the session saw besides the scores (filled by InterviewSession, or offline by
    pipeline.rescore, through `note`)."""

    degraded: list[dict[str, Any]] = field(default_factory=list)
    several_faces_frames: int = 0
    frames: int = 0
    absences: list[tuple[float, float]] = field(default_factory=list)  # (start, end) media time
    questions_asked: list[tuple[int, float]] = field(default_factory=list)  # (index, media t)
    absent_since: float | None = None  # media time the face left, while it is away
    gaps: list[MediaGap] = field(default_factory=list)  # connection drops the candidate rejoined

    def note(self, event: Event | MediaGap) -> None:
        if isinstance(event, FaceObservation):
            self.frames += 1
            self.several_faces_frames += event.faces > 1
            if not event.present and self.absent_since is None:
                self.absent_since = event.t
            elif event.present and self.absent_since is not None:
                self.absences.append((self.absent_since, event.t))
                self.absent_since = None
        elif isinstance(event, MediaGap):
            self.gaps.append(event)
            if self.absent_since is not None:  # no face seen through the gap: not an absence
                self.absences.append((self.absent_since, event.t))
                self.absent_since = None
        elif isinstance(event, StageDegraded) and not event.recovered:
            self.degraded.append(
                {"stage": event.stage, "t": round(event.t, 2), "reason": event.reason}
            )

    def close(self, t: float) -> None:
        """The media ended at `t`: a face still away is an absence up to then."""
        if self.absent_since is not None:
            self.absences.append((self.absent_since, t))
            self.absent_since = None


def _score(s: Score, measure: str | None = None, label: str | None = None) -> CompetencyScore:
    m = CATALOGUE.get(measure or s.name)
    return CompetencyScore(
        value=s.value,
        confidence=s.confidence,
        status=s.status,
        label=label,
        measure=m.id if m else None,
        formula=m.formula if m else None,
        needs=s.needs,
        components=dict(s.components),
        evidence=[
            EvidenceSpan(
                kind=e.kind,
                text=e.text,
                start=round(e.t_start, 2),
                end=round(e.t_end, 2),
                utterance=e.utterance,
                route=e.route,
                similarity=e.similarity,
                matched=e.matched,
            )
            for e in s.evidence
        ],
    )


def _scorer_flags(scorer: Scorer) -> list[Flag]:
    flags = [
        Flag(flag=d.reason, question=d.question, start=round(d.t_start, 1),
             end=round(d.t_end, 1), detail=d.detail)
        for d in scorer.dropped
    ]  # fmt: skip
    unmeasured = [c.label for c in scorer.rubric.competencies if c.measure is None]
    if unmeasured:
        flags.append(Flag(flag="interviewer_only", detail=", ".join(unmeasured)))
    if not scorer.usable_speech():
        dropped = f"; {len(scorer.dropped)} transcript(s) dropped" if scorer.dropped else ""
        flags.append(Flag(flag="no_speech", detail=f"no usable answer was transcribed{dropped}"))
    return flags


def _flags(facts: SessionFacts) -> list[Flag]:
    flags = []
    if facts.frames and facts.several_faces_frames / facts.frames > 0.05:
        detail = f"{facts.several_faces_frames} of {facts.frames} analysed frames"
        flags.append(Flag(flag="several_faces", detail=detail))
    for start, end in facts.absences:
        if end - start >= LONG_ABSENCE_S:
            flags.append(Flag(flag="long_absence", start=round(start, 1), end=round(end, 1)))
    for g in facts.gaps:
        flags.append(
            Flag(flag="gap", start=round(g.t, 1), end=round(g.t + g.duration_s, 1), reason=g.reason)
        )
    for d in facts.degraded:  # named, so a new key in the facts cannot fail the report
        flags.append(Flag(flag="stage_degraded", stage=d["stage"], t=d["t"], reason=d["reason"]))
    return flags


def build_report(
    interview: dict[str, Any], scorer: Scorer, facts: SessionFacts, models: dict[str, str]
) -> Report:
    """`interview`: its "id", and "candidate_name" and "requisition" ({"id", "title"}) when
    known."""
    rubric = scorer.rubric
    questions = []
    for index, answer in sorted(scorer.answers.items()):
        q = rubric.questions[index] if index < len(rubric.questions) else None
        questions.append(
            QuestionResult(
                index=index,
                question=q.text if q else None,
                targets=list(q.targets) if q else [],
                transcript=sorted(
                    [
                        *(
                            TranscriptLine(
                                utterance=u, start=round(a, 2), end=round(b, 2), text=text
                            )
                            for u, a, b, text in answer.text
                        ),
                        *(
                            TranscriptLine(
                                utterance=d.utterance,
                                start=round(d.t_start, 2),
                                end=round(d.t_end, 2),
                                text=d.text,
                                dropped=d.reason,
                            )
                            for d in scorer.dropped
                            if d.question == index
                        ),
                    ],
                    key=lambda line: (line.start, line.utterance),
                ),
                scores={k: _score(v) for k, v in scorer.answer_scores(index).items()},
            )
        )
    per, overall, coverage, missing = scorer.overall()
    labels = {c.key: (c.label, c.measure) for c in rubric.competencies}
    requisition = interview.get("requisition")
    return Report(
        report_version=REPORT_VERSION,
        interview_id=interview["id"],
        candidate_name=interview.get("candidate_name"),
        requisition=RequisitionRef.model_validate(requisition) if requisition else None,
        generated_at=datetime.now(UTC),
        rubric_version=rubric.version,
        weights=rubric.weights,
        models=models,
        affect_analysed=scorer.affect_allowed,
        overall=overall,
        overall_status="scored" if overall is not None else "incomplete",
        coverage=coverage,
        missing=missing,
        competencies={
            k: _score(v, labels.get(k, (None, k))[1], labels.get(k, (None, None))[0])
            for k, v in per.items()
        },
        questions=questions,
        flags=[*_scorer_flags(scorer), *_flags(facts)],
        candidate_summary=candidate_summary(scorer.language, scorer.affect_allowed),
        decision=DECISION_NOTE,
    )


def candidate_summary(language: str, affect: bool) -> str:
    if language == "zh":
        text = (
            "我们记录了您回答的文字内容（带时间）。根据文字计算了语速、停顿、口头禅、回答结构"
            "（情境、任务、行动、结果）以及是否提到了问题相关的关键概念；根据摄像头画面计算了"
            "您的脸是否在画面中以及是否面向镜头。"
        )
        if affect:
            text += "本次面试的政策允许估计面部表情，它只影响“抗压能力”一项的一小部分。"
        return text + "所有决定都由人作出。"
    text = (
        "We kept a transcript of your answers with times. From it we measured your speaking "
        "pace, pauses, filler words, the structure of your answers (situation, task, action, "
        "result) and whether you mentioned the key concepts each question was about. From the "
        "camera picture we measured whether your face was visible and turned to the camera."
    )
    if affect:
        text += (
            " This interview's policy allowed estimating facial expressions; they count for a "
            "small part of composure only."
        )
    return text + " A person makes every decision; these measurements only inform it."
