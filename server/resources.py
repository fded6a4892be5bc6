"""What the server holds for its lifetime: checked model paths, the database, Redis.

`open_resources()` acquires them in order and releases them in reverse on the way out, on
errors too; every problem becomes one ConfigError line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from hr_bridge.adapters import LocalStoreAdapter
from hr_bridge.db import DatabaseError, check_connection, make_engine, migrate, redact
from models_onnx.assets import MODEL_NAMES, ModelAssetError, locate
from pipeline.session import InterviewSession
from server import webhooks
from server.errors import ConfigError
from server.live import LiveRegistry
from server.redis_conn import RedisHandle, open_redis
from server.settings import Settings

log = logging.getLogger(__name__)


def model_overrides(settings: Settings) -> dict[str, Path | None]:
    return {
        "vad": settings.vad_model_path,
        "whisper_tiny_en": settings.whisper_model_dir,
        "face_landmarker": settings.face_model_path,
        "expression": settings.expression_model_path,
    }


def locate_models(settings: Settings) -> dict[str, Path]:
    """Checked paths of every model (sha256 against the manifest); ConfigError otherwise."""
    overrides = model_overrides(settings)
    try:
        return {n: locate(n, overrides[n], settings.models_dir) for n in MODEL_NAMES}
    except ModelAssetError as err:
        raise ConfigError(str(err)) from None


def open_database(settings: Settings, run_migrations: bool = True) -> Engine:
    """Blocking: engine for the configured URL, connection checked, schema migrated."""
    try:
        engine = make_engine(settings.effective_database_url)
        check_connection(engine)
        if run_migrations:
            migrate(engine)
    except DatabaseError as err:
        raise ConfigError(str(err)) from None
    return engine


@dataclass
class Resources:
    settings: Settings
    models: dict[str, Path]
    engine: Engine
    redis: RedisHandle

    @property
    def database_display_url(self) -> str:
        return redact(str(self.engine.url))


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    models = await asyncio.to_thread(locate_models, settings)
    engine = await asyncio.to_thread(open_database, settings)
    try:
        async with open_redis(settings) as redis_handle:
            yield Resources(settings, models, engine, redis_handle)
    finally:
        await asyncio.to_thread(engine.dispose)


def model_versions(settings: Settings) -> dict[str, str]:
    """What a report was produced with: each model's source and the start of its sha256."""
    from models_onnx.assets import manifest

    out = {
        name: f"{a.source.split(' (')[0]}, sha256 {a.sha256[:12]}" for name, a in manifest().items()
    }
    out["asr_compute_type"] = settings.whisper_compute_type
    return out


def live_registry(
    settings: Settings, res: Resources, on_report: Callable[[], None] = lambda: None
) -> LiveRegistry:
    """Blocking (checks model files once): the registry that runs live interviews.
    `on_report` is called after a report and its deliveries are stored."""
    from hr_bridge import interviews as db
    from pipeline.clock import MonotonicClock
    from pipeline.score_store import ScoreStore
    from pipeline.scoring.rubric import rubric_from_dict
    from pipeline.scoring.scorer import Scorer
    from pipeline.session import InterviewSession, SessionModels
    from server import models

    base = {
        "vad": models.vad_factory(settings),
        "face": models.face_factory(settings),
        "expression": models.expression_factory(settings),
        "vad_config": models.vad_config(settings),
    }

    async def make_session(interview_id: str) -> InterviewSession:
        iv = await asyncio.to_thread(db.get_interview, res.engine, interview_id)
        req = (
            await asyncio.to_thread(db.get_requisition, res.engine, iv.requisition_id)
            if iv
            else None
        )
        language = req.language if req else "en"
        asr = await asyncio.to_thread(models.asr_factory, settings, language)
        session_models = SessionModels(
            vad=base["vad"],  # type: ignore[arg-type]
            asr=asr,
            face=base["face"],  # type: ignore[arg-type]
            expression=base["expression"] if iv and iv.affect_allowed else None,  # type: ignore[arg-type]
            vad_config=base["vad_config"],  # type: ignore[arg-type]
            asr_config=models.asr_config(settings, language),
            video_fps=settings.video_analysis_fps,
        )
        clock = MonotonicClock()
        rubric = (
            rubric_from_dict(
                {"language": language, "competencies": req.competencies, "questions": req.questions}
            )
            if req
            else None
        )
        return InterviewSession(
            interview_id,
            clock,
            session_models,
            ScoreStore(res.redis.client, interview_id, clock),
            Scorer(rubric, affect_allowed=bool(iv and iv.affect_allowed)) if rubric else None,
        )

    # The local store, with webhook deliveries in the same transaction when one is configured.
    adapter = LocalStoreAdapter(res.engine, lambda report: webhooks.deliveries(settings, report))

    async def on_ended(interview_id: str, reason: str, session: InterviewSession) -> None:
        from datetime import UTC, datetime

        from hr_bridge import audit
        from hr_bridge.interviews import Conflict, InterviewState

        with contextlib.suppress(Conflict, KeyError):  # already finished through the API
            await asyncio.to_thread(
                db.transition,
                res.engine,
                interview_id,
                {InterviewState.LIVE},
                InterviewState.FINISHED,
                finished_at=datetime.now(UTC),
            )
        await asyncio.to_thread(
            audit.record,
            res.engine,
            "system",
            "interview.media_ended",
            f"interview:{interview_id}",
            reason=reason,
        )
        iv = await asyncio.to_thread(db.get_interview, res.engine, interview_id)
        req = (
            await asyncio.to_thread(db.get_requisition, res.engine, iv.requisition_id)
            if iv
            else None
        )
        header = {
            "id": interview_id,
            "candidate_name": iv.candidate_name if iv else None,
            "requisition": {"id": req.id, "title": req.title} if req else None,
        }
        body = session.report(header, model_versions(settings))
        if body is not None:
            await asyncio.to_thread(adapter.submit, body)
            on_report()

    return LiveRegistry(settings, make_session, on_ended)
