"""`hirestream doctor`: is everything the product needs here and working? One row per part."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, cast

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext

from hr_bridge.db import check_connection, make_engine, migration_status, redact
from models_onnx.assets import MODEL_NAMES, locate, manifest
from models_onnx.checks import time_model
from server import native_stderr
from server.models import model_overrides
from server.redis_conn import open_redis
from server.settings import Settings

Status = Literal["ok", "warn", "FAIL"]


@dataclass
class Row:
    component: str
    status: Status
    ms: float | None
    detail: str


def _run(component: str, fn: Callable[[], tuple[Status, float | None, str]]) -> Row:
    try:
        status, ms, detail = fn()
    except Exception as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return Row(component, "FAIL", None, msg)
    return Row(component, status, ms, detail)


def check_models(settings: Settings) -> list[Row]:
    rows = []
    overrides = model_overrides(settings)
    for name in MODEL_NAMES:

        def one(name: str = name) -> tuple[Status, float | None, str]:
            path = locate(name, overrides[name], settings.models_dir)
            try:
                with native_stderr.captured():
                    t = time_model(name, path, settings.whisper_compute_type)
            except Exception as err:
                raise RuntimeError(f"{path.name}: {err}") from None
            origin = "custom file" if overrides[name] else "sha256 verified"
            shown = path.name if path.is_file() else f"{path.parent.name}/{path.name}/"
            return (
                "ok",
                t.infer_ms,
                f"{shown} ({origin}); loaded in {t.load_ms:.0f} ms; {t.detail}",
            )

        rows.append(_run(f"model {name}", one))

    def base() -> tuple[Status, float | None, str]:
        from server.models import whisper_dir

        path = whisper_dir(settings, "zh")  # assembles it under DATA_DIR once
        with native_stderr.captured():
            t = time_model("whisper_base", path, settings.whisper_compute_type)
        return (
            "ok",
            t.infer_ms,
            f"{path} (assembled, sha256 verified); loaded in {t.load_ms:.0f} ms; {t.detail}",
        )

    rows.append(_run("model whisper_base", base))
    return rows


def check_redis(settings: Settings) -> Row:
    async def ping() -> tuple[Status, float | None, str]:
        async with open_redis(settings) as handle:
            t0 = time.perf_counter()
            await handle.client.ping()
            ms = (time.perf_counter() - t0) * 1e3
            info = await handle.client.info("server")
            return (
                "ok",
                ms,
                f"{handle.mode}, redis {info.get('redis_version')}, {handle.display_url}",
            )

    return _run("redis", lambda: asyncio.run(ping()))


def check_database(settings: Settings) -> Row:
    def run() -> tuple[Status, float | None, str]:
        engine = make_engine(settings.effective_database_url)
        try:
            t0 = time.perf_counter()
            check_connection(engine)
            ms = (time.perf_counter() - t0) * 1e3
            status = migration_status(engine)
        finally:
            engine.dispose()
        where = f"{engine.url.get_backend_name()} {redact(str(engine.url))}"
        if status.up_to_date:
            return "ok", ms, f"{where}; schema at {status.current} (current)"
        return (
            "warn",
            ms,
            f"{where}; schema at {status.current or 'none'}, code expects {status.head}: "
            "`hirestream serve` applies it on start, or run `hirestream migrate`",
        )

    return _run("database", run)


def _video_packets(encoder: str) -> list[Packet[Any]]:
    enc = cast(VideoCodecContext, av.CodecContext.create(encoder, "w"))
    enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"
    enc.time_base = Fraction(1, 30)
    packets: list[Packet[Any]] = []
    for i in range(5):
        img = np.full((240, 320, 3), (i * 40) % 255, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        packets += enc.encode(frame)
    return packets + enc.encode(None)


def _audio_packets(encoder: str) -> list[Packet[Any]]:
    enc = cast(AudioCodecContext, av.CodecContext.create(encoder, "w"))
    enc.sample_rate, enc.layout, enc.format = 48_000, "mono", "s16"
    enc.time_base = Fraction(1, 48_000)
    packets: list[Packet[Any]] = []
    for i in range(5):
        pcm = (np.sin(np.arange(960) * 0.05) * 8000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48_000, i * 960
        packets += enc.encode(frame)
    return packets + enc.encode(None)


def _codec_roundtrip(
    kind: Literal["video", "audio"], encoder: str, decoder: str
) -> tuple[float, int]:
    """Encode a short synthetic clip with `encoder`, decode it with `decoder`: (ms, frames)."""
    packets = _video_packets(encoder) if kind == "video" else _audio_packets(encoder)
    dec = cast(VideoCodecContext | AudioCodecContext, av.CodecContext.create(decoder, "r"))
    if isinstance(dec, AudioCodecContext):
        dec.sample_rate, dec.layout = 48_000, "mono"
    t0 = time.perf_counter()
    decoded: list[Any] = [fr for p in packets for fr in dec.decode(p)]
    with contextlib.suppress(av.error.EOFError):
        decoded += dec.decode(None)
    ms = (time.perf_counter() - t0) * 1e3
    if not decoded:
        raise RuntimeError(f"{decoder} decoded nothing from {len(packets)} packets")
    return ms, len(decoded)


def check_codecs() -> list[Row]:
    rows = []
    for label, kind, encoder, decoder in (
        ("VP8", "video", "libvpx", "vp8"),
        ("H.264", "video", "libx264", "h264"),
        ("Opus", "audio", "libopus", "opus"),
    ):

        def one(
            kind: Literal["video", "audio"] = kind,  # type: ignore[assignment]
            encoder: str = encoder,
            decoder: str = decoder,
        ) -> tuple[Status, float | None, str]:
            ms, n = _codec_roundtrip(kind, encoder, decoder)
            return "ok", ms, f"decoded {n} frames ({decoder}; test clip encoded with {encoder})"

        rows.append(_run(f"codec {label}", one))
    return rows


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def check_chromium() -> Row:
    def run() -> tuple[Status, float | None, str]:
        path = find_chromium()
        if path is None:
            raise FileNotFoundError(
                "Chromium not found (needed by the browser tests); `make test` installs it, "
                "or: apt-get install chromium"
            )
        t0 = time.perf_counter()
        out = subprocess.run(
            [path, "--headless", "--no-sandbox", "--version"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return (
            "ok",
            (time.perf_counter() - t0) * 1e3,
            f"{out.stdout.strip()} at {path} (for browser tests)",
        )

    return _run("chromium", run)


SECTIONS = ("models", "redis", "database", "codecs", "chromium")


def run_doctor(settings: Settings, skip: set[str] | None = None) -> list[Row]:
    skip = skip or set()
    rows: list[Row] = []
    if "models" not in skip:
        rows += check_models(settings)
    if "redis" not in skip:
        rows.append(check_redis(settings))
    if "database" not in skip:
        rows.append(check_database(settings))
    if "codecs" not in skip:
        rows += check_codecs()
    if "chromium" not in skip:
        rows.append(check_chromium())
    return rows


def format_table(rows: list[Row]) -> str:
    header = ("component", "status", "time", "detail")
    body = [
        (r.component, r.status, f"{r.ms:.1f} ms" if r.ms is not None else "-", r.detail)
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(3)]
    lines = []
    for cells in [header, *body]:
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths, strict=True)) + "  " + cells[3]
        )
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)


def licenses_note() -> str:
    return "; ".join(f"{a.name}: {a.license.split(' (')[0]}" for a in manifest().values())
