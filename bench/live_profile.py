"""Where the server's CPU goes during a bench.live step.

Two samplers run on the server process for the step's steady window, neither stopping it:
- perf (cpu-clock, every thread, native ones included: CTranslate2's, onnxruntime's and
  MediaPipe's pools, libvpx) grouped by shared object: what each library costs in cores;
- py-spy (`.venv/bin/pip install py-spy`; not a project dependency) over the Python threads,
  idle ones left out, each sample given to the job of the innermost frame that names one:
  what the interpreter's time (libpython in perf's table) is spent on.
Either is skipped when its tool is missing. Cores = samples / (rate x seconds).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from subprocess import DEVNULL

PY_RATE = 50
PERF_RATE = 99

# (group, markers): a frame "function (path:line)" belongs to the first group one of whose
# markers it contains; a sample to the innermost frame that belongs to a group.
PY_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Whisper (decode, features)", ("faster_whisper", "ctranslate2", "whisper.py", "asr_")),
    ("VAD", ("vad_stage", "vad.py")),
    ("face (MediaPipe)", ("mediapipe", "face_stage", "face_landmarker", "face_features")),
    ("expression", ("affect_stage", "expression")),
    ("scoring", ("scoring/", "embedder", "semantic")),
    ("VP8 encode (viewers)", ("Vp8Encoder", "viewer_video")),
    ("VP8 decode", ("vpx.py",)),
    ("Opus decode", ("opus.py",)),
    ("decoder threads (queue, handoff)", ("decoder_worker",)),
    ("video ingress", ("video_ingress", "video_pipeline", "video_rate", "VideoFrame")),
    ("audio ingress", ("audio_ingress", "audio_pipeline")),
    ("RTP/RTCP", ("rtcrtp", "jitterbuffer", "rtp.py", "rtcp")),
    ("SRTP/DTLS", ("rtcdtlstransport", "srtp")),
    ("ICE/UDP", ("aioice",)),
    ("Redis / live fan-out", ("redis", "live_fanout")),
    ("JSON", ("json/",)),
    ("HTTP/WebSocket", ("aiohttp",)),
    ("session/pipeline other", ("pipeline/", "server/")),
    ("thread handoff", ("threading.py", "concurrent/futures")),
    ("event loop", ("selectors.py", "asyncio/")),
]
# Shared object -> job, for perf's table (first matching pattern).
DSO_GROUPS: list[tuple[str, str]] = [
    # CTranslate2's GEMM kernels are generated at run time: perf sees them as [JIT] code (no
    # other library in the server generates code).
    ("ctranslate2|JIT", "Whisper (CTranslate2 + its JIT kernels)"),
    ("onnxruntime", "onnxruntime (VAD, expression, scoring)"),
    ("mediapipe|_framework_bindings", "MediaPipe (face)"),
    ("libvpx", "libvpx (VP8)"),
    ("libopus", "libopus"),
    ("libswscale", "swscale (pixel conversion)"),
    ("libswresample", "swresample (audio resample)"),
    ("libav|av/", "FFmpeg/PyAV other"),
    ("srtp|libcrypto|libssl|_cffi", "SRTP/DTLS crypto"),
    ("openblas", "numpy's OpenBLAS (matmul; its pool spins)"),
    ("libgomp|libiomp|mkl|dnnl", "OpenMP"),
    ("cv2|opencv", "OpenCV"),
    ("numpy|_multiarray", "numpy"),
    ("libpython", "Python interpreter"),
    ("abi3\\.so", "PyAV wrappers"),
    ("cpython-311", "CPython extension modules"),
    ("kernel", "kernel (syscalls, network)"),
    ("libc\\.|libm\\.|ld-linux|libstdc|libgcc", "libc/libm/libstdc++"),
]


@dataclass(frozen=True)
class Profile:
    seconds: float
    perf_cores: dict[str, float]  # job (by library) -> cores busy, every thread
    python_cores: dict[str, float]  # job (by Python frame) -> cores busy, Python threads

    def as_json(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 1),
            "by_library_cores": {k: round(v, 3) for k, v in self.perf_cores.items()},
            "python_threads_cores": {k: round(v, 3) for k, v in self.python_cores.items()},
        }


@dataclass
class Recording:
    pid: int
    seconds: float
    py_out: Path
    perf_out: Path
    procs: list[subprocess.Popen[bytes]]

    def wait(self) -> None:
        for p in self.procs:
            p.wait()


def _tool(name: str) -> str | None:
    venv = Path(__file__).resolve().parents[1] / ".venv" / "bin" / name
    return str(venv) if venv.exists() else shutil.which(name)


def record(pid: int, seconds: float, out: Path, python: bool = True) -> Recording:
    """Start the samplers on `pid` for `seconds`: perf into `out`.perf.data and, with
    `python`, py-spy into `out`.pyspy.txt (py-spy costs the machine ~0.05 cores per
    interview, so the step's own figures are a little pessimistic with it)."""
    rec = Recording(pid, seconds, out.with_suffix(".pyspy.txt"), out.with_suffix(".perf.data"), [])
    if python and (spy := _tool("py-spy")):
        cmd = [spy, "record", "--pid", str(pid), "--rate", str(PY_RATE)]
        cmd += ["--duration", str(round(seconds)), "--format", "raw", "--nonblocking"]
        cmd += ["--threads", "--output", str(rec.py_out)]
        rec.procs.append(subprocess.Popen(cmd, stdout=DEVNULL, stderr=DEVNULL))
    if perf := _tool("perf"):
        # System-wide, filtered by process when read: `-p` misses threads started later.
        cmd = [perf, "record", "-a", "-F", str(PERF_RATE), "-o", str(rec.perf_out)]
        cmd += ["--", "sleep", str(seconds)]
        rec.procs.append(subprocess.Popen(cmd, stdout=DEVNULL, stderr=DEVNULL))
    return rec


# Innermost frames of a thread that waits (py-spy's own idle test misses some when it does
# not stop the process): their samples are not CPU.
WAITS = re.compile(
    r"^(Condition\.wait|Event\.wait|Queue\.get|SimpleQueue\.get|_worker|EpollSelector\.select"
    r"|select|poll|sleep|Thread\.join|_wait_for_tstate_lock|Semaphore\.acquire) \("
)


def _py_group(stack: list[str]) -> str:
    for frame in reversed(stack):
        for group, marks in PY_GROUPS:
            if any(m in frame for m in marks):
                return group
    return "other"


def python_cores(path: Path, seconds: float) -> dict[str, float]:
    samples: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")[1:]
            if count.isdigit() and frames and not WAITS.match(frames[-1]):
                samples[_py_group(frames)] += int(count)
    return {g: n / (PY_RATE * seconds) for g, n in samples.most_common()}


def perf_cores(path: Path, pid: int, seconds: float) -> dict[str, float]:
    perf = _tool("perf")
    if perf is None or not path.exists():
        return {}
    # Sorted by thread too: with "dso" alone, --pid does not filter the counts.
    args = ["-i", str(path), "--pid", str(pid), "--sort", "pid,dso", "--stdio", "-n", "-q"]
    report = subprocess.run(
        [perf, "report", *args],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    samples: Counter[str] = Counter()
    for line in report.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+\d+:\S+\s+(.+?)\s*$", line)
        if m:
            dso = m.group(2)
            group = next((g for pat, g in DSO_GROUPS if re.search(pat, dso)), "other")
            samples[group] += int(m.group(1))
    return {g: n / (PERF_RATE * seconds) for g, n in samples.most_common()}


def summarize(rec: Recording) -> Profile:
    return Profile(
        rec.seconds,
        perf_cores(rec.perf_out, rec.pid, rec.seconds),
        python_cores(rec.py_out, rec.seconds),
    )


def table(p: Profile, top: int = 10) -> str:
    lines = []
    for title, cores in (
        ("by library (perf, all threads)", p.perf_cores),
        ("Python threads by job (py-spy, waits left out)", p.python_cores),
    ):
        if not cores:
            continue
        total = sum(cores.values())
        lines.append(f"  {title}: {total:.3f} cores")
        for g, c in list(cores.items())[:top]:
            lines.append(f"    {g:<40} {c:>6.3f} {c / max(total, 1e-9):>5.0%}")
    return "\n".join(lines)
