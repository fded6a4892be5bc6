"""InterviewService: the interview lifecycle as the server runs it.

It assembles a live session for an interview (its models, rubric, score store), moves the
interview through its states (hr_bridge.lifecycle: one place, audited in the same
transaction), and makes sure every interview that had media ends with a report in the SQL
store:

- finished through the API: the session drains, the report is built and stored with its
  `interview.report.finalized` event;
- the candidate's connection drops (reload, network change, closed tab, no media): the
  interview is `interrupted` and its session kept in memory, paused, for `rejoin_grace_s`;
  the same invite link rejoins it (live again, one session, one report, the gap marked in
  the timeline and the report). Without a rejoin in time the interview is finished with the
  kept session's report (face signals included), flagged `interrupted`;
- the SQL store is unreachable at that moment: the report is spooled to a 0600 file under
  DATA_DIR/spool and stored by the sweeper as soon as the database answers again;
- the server stopped (a deploy: sessions end without a report, the answer in progress
  reaching the live history) or died while interviews were live: at start-up they
  become `interrupted`; within `rejoin_grace_s` the link rejoins into a new session seeded
  from the live history (so one report covers both parts); one that has not resumed after
  `interrupted_finalize_after_s` (and the grace period) is finished
  with a report rebuilt from its live history in Redis (pipeline.replay), flagged as such,
  or, if that history is gone too, a report that says so;
- an interview whose invite expired before any media is `abandoned` (no report: nothing was
  analysed).

Redis is a cache of live state here: nothing in the report depends on reaching it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from hr_bridge import interviews as db
from hr_bridge import lifecycle
from hr_bridge.interviews import Conflict, Interview, InterviewState
from integrations.adapters import HRAdapter, LocalStoreAdapter
from models_onnx.embedder import SentenceEncoder
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from pipeline.asr_scheduler import AsrScheduler
from pipeline.clock import MonotonicClock
from pipeline.replay import replay
from pipeline.score_store import ScoreStore, keys, unpack
from pipeline.scoring.report import SessionFacts, build_report
from pipeline.scoring.report_model import Flag, Report
from pipeline.scoring.rubric import Rubric, rubric_from_dict
from pipeline.scoring.scorer import Scorer
from pipeline.session import InterviewSession, SessionModels
from pipeline.vad_stage import VadConfig
from server import models
from server.live import LiveRegistry
from server.model_hub import HubClosed, ModelHub
from server.settings import Settings

log = logging.getLogger(__name__)

FINISHED_REASON = "finished"
SWEEP_S = 10.0
HISTORY_MAX = 10_000  # records read back from Redis to rebuild a lost session
QUESTION_SCAN = 500  # records per read when looking back for the current question

S = InterviewState


@dataclass(frozen=True)
class SharedModels:
    """Model factories every session shares (checked once at start-up)."""

    vad: Callable[[], SileroVad]
    face: Callable[[], FaceLandmarkerModel]
    expression: Callable[[], ExpressionModel]
    vad_config: VadConfig
    # One instance for the whole process (stateless; onnxruntime runs are thread-safe):
    # every session's scoring thread matches answers by meaning with it.
    encoder: SentenceEncoder
    hub: ModelHub | None = None  # the process's models (server.model_hub); None: per session

    @classmethod
    def load(cls, settings: Settings, hub: ModelHub | None = None) -> SharedModels:
        """Blocking: checks the model files. With the process's hub, sessions share its
        models; without, each session loads its own."""
        return cls(
            hub.vad_stream if hub else models.vad_factory(settings),
            hub.face if hub else models.face_factory(settings),
            hub.expression if hub else models.expression_factory(settings),
            models.vad_config(settings),
            models.sentence_encoder(settings),
            hub,
        )


@dataclass(frozen=True)
class Recovery:
    interrupted: list[str]  # left live by a previous run, now resumable
    spooled: int  # reports stored from the spool


def _header(iv: Interview | None, req: db.Requisition | None, iid: str) -> dict[str, Any]:
    return {
        "id": iid,
        "candidate_name": iv.candidate_name if iv else None,
        "requisition": {"id": req.id, "title": req.title} if req else None,
    }


def _rubric(req: db.Requisition) -> Rubric:
    return rubric_from_dict(
        {"language": req.language, "competencies": req.competencies, "questions": req.questions}
    )


class InterviewService:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        redis: aioredis.Redis,
        shared: SharedModels,
        adapter: HRAdapter | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis
        self.shared = shared
        self.adapter: HRAdapter = adapter or LocalStoreAdapter(engine)
        self.live = LiveRegistry(
            settings,
            self.make_session,
            self.media_ended,
            self.media_lost,
            self.media_resumed,
            self.revive,
        )
        self.spool = settings.data_dir / "spool"
        self._sweeper: asyncio.Task[None] | None = None

    # Start and stop

    async def start(self) -> Recovery:
        """Recover what a previous run left behind, then sweep periodically."""
        recovery = await self.recover()
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="interview-sweeper")
        return recovery

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.live.aclose()

    # Transitions the HTTP layer asks for

    async def consent(self, iid: str, notice_version: str) -> Interview:
        return await self._move(
            iid,
            S.CONSENTED,
            actor="candidate",
            action="consent.given",
            detail={"notice_version": notice_version},
            consent_at=datetime.now(UTC),
            notice_version=notice_version,
        )

    async def media_started(self, iid: str) -> Interview:
        """The candidate's media session was answered: the interview is live."""
        return await self._move(
            iid,
            S.LIVE,
            actor="candidate",
            action="interview.live",
            started_at=datetime.now(UTC),
        )

    async def finish(self, iid: str, actor: str) -> Interview:
        """End the interview (idempotent). A live session drains first (the last answer's
        final transcript), then its report is stored; an interrupted one is finished from its
        history; one that never had media just finishes."""
        dropped = self.live.detached.get(iid)
        reason = (
            FINISHED_REASON
            if dropped is None
            else f"finished by {actor} while the connection was lost ({dropped.reason})"
        )
        await self.live.release(iid, reason, drain=True)
        iv = await asyncio.to_thread(db.get_interview, self.engine, iid)
        if iv is None:
            raise KeyError(iid)
        if iv.state == S.INTERRUPTED:
            await self.finalize_interrupted(iid, f"finished by {actor} while interrupted")
        elif iv.state in (S.SCHEDULED, S.CONSENTED):
            await self._finished(iid, {S.SCHEDULED, S.CONSENTED}, "before any media", actor)
        found = await asyncio.to_thread(db.get_interview, self.engine, iid)
        assert found is not None
        return found

    async def _move(self, iid: str, to: InterviewState, **kwargs: Any) -> Interview:
        """lifecycle.move off the event loop, then a `state` record on the live feed (which
        works before and after a live session: interviewers learn of every change there)."""
        iv = await asyncio.to_thread(lifecycle.move, self.engine, iid, to, **kwargs)
        await self.publish_state(iid, iv.state)
        return iv

    async def publish_state(
        self, iid: str, state: str, session: InterviewSession | None = None
    ) -> None:
        """Never raises: the store buffers through a Redis outage."""
        record = {"type": "state", "state": str(state), "at": datetime.now(UTC).isoformat()}
        session = session or self.live.session_of(iid)
        if session is not None:  # in order with the session's own records
            await session.store.publish(record)
            return
        store = ScoreStore(self.redis, iid, MonotonicClock())
        await store.publish(record)
        await store.aclose()  # an outage's retries give up in time

    def current_question(self, iid: str) -> tuple[int, str] | None:
        """The question the live (or detached) session is on, if this process holds one."""
        session = self.live.session_of(iid)
        if session is None or session.question_index is None or session.question is None:
            return None
        return session.question_index, session.question

    async def question_now(self, iid: str) -> tuple[int, str] | None:
        """The question asked now: the session's, else (no session here: not live yet, or
        lost with a restart) the latest in the live history; None if none or Redis is down."""
        held = self.current_question(iid)
        if held is not None:
            return held
        upto = "+"
        try:
            for _ in range(HISTORY_MAX // QUESTION_SCAN):  # newest first, a page at a time
                rows: list[tuple[bytes, dict[bytes, bytes]]] = (
                    await self.redis.xrevrange(keys(iid)["events"], upto, "-", QUESTION_SCAN)  # type: ignore[assignment]
                ) or []
                for _id, fields in rows:
                    record = unpack(fields[b"r"])
                    if record.get("type") == "question":
                        return int(record["index"]), str(record.get("text") or "")
                if len(rows) < QUESTION_SCAN:
                    return None
                upto = "(" + rows[-1][0].decode()
        except (RedisError, OSError, KeyError, ValueError, TypeError):
            return None
        return None

    def rejoin_until(self, iv: Interview) -> datetime | None:
        """Until when a dropped candidate may rejoin an interrupted interview: the grace
        period from the drop (this process holds the session), or from the interruption a
        restart recorded (the session is rebuilt from the history then)."""
        if iv.state != S.INTERRUPTED:
            return None
        since = self.live.detached_at(iv.id) or iv.interrupted_at
        if since is None:
            return None
        return since + timedelta(seconds=self.settings.rejoin_grace_s)

    def may_rejoin(self, iv: Interview, jti: str) -> bool:
        """The candidate link that started the media (the invite's) may attach a new
        connection: while live (the old one may be dead, unnoticed yet) or interrupted within
        the grace period."""
        if iv.invite_used_at is None or jti != iv.invite_jti:
            return False
        if iv.state == S.LIVE:
            return True
        until = self.rejoin_until(iv)
        return until is not None and datetime.now(UTC) < until

    # The live session

    async def make_session(self, iid: str) -> InterviewSession:
        iv, req = await self._interview_and_requisition(iid)
        language = req.language if req else "en"
        hub = self.shared.hub
        factory = await asyncio.to_thread(models.asr_factory, self.settings, language)
        asr: Callable[[], WhisperAsr] | AsrScheduler = factory
        if hub is not None:
            try:
                asr = await hub.asr(language)  # one Whisper per model for all sessions
            except HubClosed:
                raise
            except Exception:
                # As before the shared model: the interview goes on, its ASR stage tries
                # the model itself and says it is degraded (captions missing, not the start).
                log.exception("interview %s: the shared Whisper model failed to load", iid)
        affect = bool(iv and iv.affect_allowed)
        session_models = SessionModels(
            vad=self.shared.vad,
            asr=asr,
            face=self.shared.face,
            expression=self.shared.expression if affect else None,
            vad_config=self.shared.vad_config,
            asr_config=models.asr_config(self.settings, language),
            video_fps=self.settings.video_analysis_fps,
            video_steady_fps=min(self.settings.video_steady_fps, self.settings.video_analysis_fps),
            video_nice=self.settings.video_analysis_nice,
        )
        clock = MonotonicClock()
        return InterviewSession(
            iid,
            clock,
            session_models,
            ScoreStore(self.redis, iid, clock),
            Scorer(_rubric(req), affect_allowed=affect, encoder=self.shared.encoder)
            if req
            else None,
        )

    async def media_lost(self, iid: str, reason: str) -> None:
        """The candidate's connection dropped; the session waits for a rejoin."""
        with contextlib.suppress(Conflict, KeyError):  # finished meanwhile
            await self._move(
                iid,
                S.INTERRUPTED,
                actor="system",
                action="interview.interrupted",
                only_from=frozenset({S.LIVE}),
                detail={"reason": f"connection lost: {reason}"},
                interrupted_at=datetime.now(UTC),
            )

    async def media_resumed(self, iid: str) -> None:
        """The candidate rejoined: live again (raises Conflict if it ended meanwhile)."""
        try:
            await self._move(
                iid,
                S.LIVE,
                actor="candidate",
                action="interview.resumed",
                only_from=frozenset({S.INTERRUPTED}),
            )
        except Conflict:
            iv = await asyncio.to_thread(db.get_interview, self.engine, iid)
            if iv is None or iv.state != S.LIVE:  # live: the drop was never recorded
                raise

    async def revive(self, iid: str) -> InterviewSession | None:
        """A session for an interview interrupted by a server restart, seeded from its live
        history so that one report covers both parts (the part before the restart with
        speech and transcript evidence only: face signals are not in the history)."""
        iv = await asyncio.to_thread(db.get_interview, self.engine, iid)
        if iv is None or iv.state != S.INTERRUPTED:
            return None
        history = await self._history(iid) or []
        session = await self.make_session(iid)
        started = iv.started_at or iv.interrupted_at or datetime.now(UTC)
        elapsed = (datetime.now(UTC) - started).total_seconds()
        try:
            await asyncio.to_thread(session.seed, history, elapsed)
        except BaseException:
            await session.aclose()
            raise
        return session

    async def media_ended(self, iid: str, reason: str, session: InterviewSession) -> None:
        """The session is over (finish, no rejoin within the grace period):
        the interview is finished and its report stored, flagged when it did not end by
        finish."""
        iv: Interview | None = None
        req: db.Requisition | None = None
        moved = False
        try:
            moved = await self._finished(iid, {S.LIVE, S.INTERRUPTED}, reason, announce=False)
            iv, req = await self._interview_and_requisition(iid)
        except SQLAlchemyError as err:  # the report still gets made and spooled
            log.error("interview %s: database unavailable at the end (%s)", iid, type(err).__name__)
        report = session.report(_header(iv, req, iid), models.model_versions(self.settings))
        if report is not None:
            if reason != FINISHED_REASON:
                detail = f"the live session ended: {reason}"
                report.flags.append(Flag(flag="interrupted", detail=detail))
            await self.store_report(iid, report)
        if moved:  # announced once the report is there: the live view links to it
            await self.publish_state(iid, S.FINISHED, session)

    # Reports

    async def store_report(self, iid: str, report: Report) -> None:
        """Store the report (idempotent); spool it to disk if the database is unreachable."""
        try:
            await asyncio.to_thread(self.adapter.submit, report)
        except SQLAlchemyError as err:
            path = await asyncio.to_thread(self._spool, iid, report)
            log.error(
                "interview %s: database unavailable (%s); report spooled to %s, stored when "
                "the database answers",
                iid,
                type(err).__name__,
                path,
            )

    def _spool(self, iid: str, report: Report) -> Path:
        self.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.spool / f"report-{iid}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(report.model_dump_json())
        tmp.replace(path)
        return path

    def _store_spooled(self) -> int:
        """Blocking: store every spooled report the database now takes; keep the rest."""
        stored = 0
        for path in sorted(self.spool.glob("report-*.json")) if self.spool.is_dir() else []:
            try:
                report = Report.model_validate_json(path.read_bytes())
            except ValidationError as err:
                # Kept for an operator, out of the sweep's way: one unreadable file must not
                # hold back the reports after it (nor stop start-up, which stores the spool).
                rejected = path.with_suffix(".rejected")
                path.replace(rejected)
                log.error("spooled report %s is not a report (%s); kept as %s", path, err, rejected)
                continue
            try:
                self.adapter.submit(report)
            except SQLAlchemyError:
                break  # still down: try again at the next sweep
            path.unlink()
            stored += 1
        return stored

    # Recovery

    async def recover(self) -> Recovery:
        """At start-up: interviews a previous run left `live` are interrupted (this process
        has no session for them); spooled reports are stored."""
        interrupted = []
        for iv in await asyncio.to_thread(lifecycle.in_state, self.engine, S.LIVE):
            if self.live.holds(iv.id):
                continue
            with contextlib.suppress(Conflict, KeyError):
                await self._move(
                    iv.id,
                    S.INTERRUPTED,
                    actor="system",
                    action="interview.interrupted",
                    only_from=frozenset({S.LIVE}),
                    detail={"reason": "the server stopped while the interview was live"},
                    interrupted_at=datetime.now(UTC),
                )
                interrupted.append(iv.id)
                log.warning("interview %s: left live by a previous run; now interrupted", iv.id)
        spooled = await asyncio.to_thread(self._store_spooled)
        return Recovery(interrupted, spooled)

    async def finalize_interrupted(self, iid: str, reason: str) -> None:
        """Finish an interrupted interview with a report rebuilt from its live history. Under
        the interview's transition lock: a rejoin after a restart (which revives the session
        from the same history) either comes first, and this finds it live, or finds it
        finished."""
        async with self.live.lock(iid):
            await self._finalize_interrupted(iid, reason)

    async def _finalize_interrupted(self, iid: str, reason: str) -> None:
        iv, req = await self._interview_and_requisition(iid)
        if iv is None or iv.state != S.INTERRUPTED:
            return
        if req is not None:
            scorer = Scorer(
                _rubric(req), affect_allowed=iv.affect_allowed, encoder=self.shared.encoder
            )
            facts = SessionFacts()
            history = await self._history(iid)
            # Replaying encodes every final for matching by meaning: off the event loop.
            finals = await asyncio.to_thread(replay, history or [], scorer, facts)
            report = await asyncio.to_thread(
                build_report,
                _header(iv, req, iid),
                scorer,
                facts,
                models.model_versions(self.settings),
            )
            detail = (
                f"the live session was lost ({reason}); rebuilt from the stored live history: "
                f"{finals} final transcripts, speech and transcript evidence only, face signals "
                "not included"
                if history is not None
                else f"the live session was lost ({reason}) and its live history was not "
                "available: nothing could be analysed"
            )
            report.flags.append(Flag(flag="interrupted", detail=detail))
            await self.store_report(iid, report)
        await self._finished(iid, {S.INTERRUPTED}, reason)

    async def _finished(
        self,
        iid: str,
        only_from: set[InterviewState],
        reason: str,
        actor: str = "system",
        announce: bool = True,
    ) -> bool:
        """Move to finished from one of `only_from`; a no-op (False) when it is finished
        already (or gone), since a finish and a hang-up may race to it. Without `announce`
        the caller publishes the state record (once the report is stored)."""
        move = self._move if announce else self._move_quietly
        try:
            await move(
                iid,
                S.FINISHED,
                actor=actor,
                action="interview.finished",
                only_from=frozenset(only_from),
                detail={"reason": reason},
                finished_at=datetime.now(UTC),
            )
        except (Conflict, KeyError):
            return False
        return True

    async def _move_quietly(self, iid: str, to: InterviewState, **kwargs: Any) -> Interview:
        return await asyncio.to_thread(lifecycle.move, self.engine, iid, to, **kwargs)

    async def _history(self, iid: str) -> list[dict[str, Any]] | None:
        """The interview's live records in order; None when Redis has none or is down."""
        try:
            rows = await self.redis.xrange(keys(iid)["events"], count=HISTORY_MAX)
        except (RedisError, OSError) as err:
            log.warning("interview %s: live history unavailable (%s)", iid, type(err).__name__)
            return None
        records = [unpack(fields[b"r"]) for _id, fields in rows or []]  # type: ignore[index,arg-type]
        # State records are published with or without media: they are no analysis history.
        records = [r for r in records if r.get("type") != "state"]
        return records or None

    async def _interview_and_requisition(
        self, iid: str
    ) -> tuple[Interview | None, db.Requisition | None]:
        iv = await asyncio.to_thread(db.get_interview, self.engine, iid)
        if iv is None:
            return None, None
        return iv, await asyncio.to_thread(db.get_requisition, self.engine, iv.requisition_id)

    async def sweep(self) -> None:
        """Finish interrupted interviews whose resume window passed; abandon interviews whose
        invite expired before any media; store spooled reports."""
        now = datetime.now(UTC)
        # Never while the candidate may still rejoin.
        wait_s = max(self.settings.interrupted_finalize_after_s, self.settings.rejoin_grace_s)
        cutoff = now - timedelta(seconds=wait_s)
        for iv in await asyncio.to_thread(lifecycle.in_state, self.engine, S.INTERRUPTED):
            if self.live.holds(iv.id):  # waits for a rejoin in memory, or is ending already
                continue
            since = iv.interrupted_at or iv.started_at
            if since is None or since <= cutoff:
                await self.finalize_interrupted(iv.id, "it did not resume in time")
        expired = now - timedelta(seconds=self.settings.invite_ttl_s)
        for iid in await asyncio.to_thread(lifecycle.waiting_since_before, self.engine, expired):
            with contextlib.suppress(Conflict, KeyError):  # the candidate got in meanwhile
                await self._move(
                    iid,
                    S.ABANDONED,
                    actor="system",
                    action="interview.abandoned",
                    only_from=frozenset({S.SCHEDULED, S.CONSENTED}),
                    detail={"reason": "the invite expired before the interview took place"},
                )
        await asyncio.to_thread(self._store_spooled)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.sweep()
            except Exception:  # the database hiccuped: the next sweep tries again
                log.exception("interview sweep failed")
