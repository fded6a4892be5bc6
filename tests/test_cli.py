"""The `hirestream` command as a user runs it: a real process, real signals."""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hr_bridge.db import head_revision
from tests.procs import pids_matching, wait_gone

FILES = Path(__file__).resolve().parent.parent / "models_onnx" / "files"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env.update(HIRESTREAM_DATA_DIR=str(tmp_path / "data"), HIRESTREAM_PORT="0", **extra)
    return env


def _hirestream(*args: str) -> list[str]:
    return [sys.executable, "-m", "server", *args]


def _start_serve(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        _hirestream("serve"), env=_env(tmp_path, **extra), stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"running at (https?://\S+)/", line):
            return proc, m.group(1)
    proc.kill()
    raise AssertionError("serve did not print its URL:\n" + "".join(lines))


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_serve_answers_then_ctrl_c_leaves_nothing_running(tmp_path: Path) -> None:
    proc, url = _start_serve(tmp_path)
    sock = str((tmp_path / "data" / "redis" / "redis.sock").resolve())
    try:
        assert _get(f"{url}/healthz")[0] == 200
        status, body = _get(f"{url}/readyz")
        assert status == 200, body
        redis_pids = pids_matching(sock)
        assert len(redis_pids) == 1
        assert (tmp_path / "data" / "hirestream.db").exists()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert all(wait_gone(p) for p in redis_pids)
    assert pids_matching(sock) == []


LOCAL = ip_address("127.0.0.1")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOCAL)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_serve_https_with_a_certificate(tmp_path: Path) -> None:
    """Cameras need HTTPS off localhost: the server can serve it itself."""
    cert, key = _self_signed(tmp_path)
    proc, url = _start_serve(
        tmp_path, HIRESTREAM_TLS_CERT_FILE=str(cert), HIRESTREAM_TLS_KEY_FILE=str(key)
    )
    try:
        assert url.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"{url}/healthz", timeout=5, context=ctx) as r:
            assert r.status == 200
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # no plain HTTP there
            urllib.request.urlopen(url.replace("https:", "http:") + "/healthz", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    # Half a pair, or a key that does not fit, stops start-up with one line.
    r = subprocess.run(
        _hirestream("serve"),
        env=_env(tmp_path, HIRESTREAM_TLS_CERT_FILE=str(cert)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "tls_cert_file and tls_key_file go together" in r.stderr
    r = subprocess.run(
        _hirestream("serve"),
        env=_env(tmp_path, HIRESTREAM_TLS_CERT_FILE=str(cert), HIRESTREAM_TLS_KEY_FILE=str(cert)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "cannot use the TLS certificate" in r.stderr


def test_serve_killed_hard_takes_embedded_redis_along(tmp_path: Path) -> None:
    proc, _url = _start_serve(tmp_path)
    sock = str((tmp_path / "data" / "redis" / "redis.sock").resolve())
    (redis_pid,) = pids_matching(sock)
    proc.kill()
    proc.wait()
    assert wait_gone(redis_pid)


def _fails_with_one_line(tmp_path: Path, args: list[str], **env: str) -> str:
    out = subprocess.run(
        _hirestream(*args), env=_env(tmp_path, **env), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("hirestream: error:")]
    assert len(errors) == 1, out.stderr
    assert "Traceback" not in out.stderr
    return errors[0]


def test_unreachable_redis_url_fails_fast(tmp_path: Path) -> None:
    t0 = time.monotonic()
    line = _fails_with_one_line(tmp_path, ["serve"], HIRESTREAM_REDIS_URL="redis://127.0.0.1:1/0")
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in line
    assert time.monotonic() - t0 < 30


def test_bad_database_url_fails_fast(tmp_path: Path) -> None:
    line = _fails_with_one_line(tmp_path, ["serve"], HIRESTREAM_DATABASE_URL="oracle://x@y/z")
    assert "not supported" in line and "sqlite or postgresql" in line


def test_altered_model_file_fails_fast(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(FILES, models)
    task = models / "face_landmarker.task"
    task.write_bytes(task.read_bytes()[:-10])
    line = _fails_with_one_line(tmp_path, ["serve"], HIRESTREAM_MODELS_DIR=str(models))
    assert str(task) in line and "extract_face_landmarker.sh" in line
    # Nothing was started on the way to that error.
    assert pids_matching(str(tmp_path)) == []


def test_bad_setting_value(tmp_path: Path) -> None:
    line = _fails_with_one_line(tmp_path, ["serve"], HIRESTREAM_LOG_LEVEL="chatty")
    assert "log_level" in line


def test_migrate_command(tmp_path: Path) -> None:
    out = subprocess.run(
        _hirestream("migrate"), env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert f"schema at revision {head_revision()}" in out.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium not installed")
def test_doctor_all_green(tmp_path: Path) -> None:
    out = subprocess.run(
        _hirestream("doctor"), env=_env(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for part in (
        "model vad", "model whisper_tiny_en", "model face_landmarker", "model expression",
        "redis", "database", "codec VP8", "codec H.264", "codec Opus", "chromium",
    ):  # fmt: skip
        assert re.search(rf"^{re.escape(part)}\s+(ok|warn)\s+\d", out.stdout, re.M), out.stdout
    assert "all checks passed" in out.stdout
    assert "W0000" not in out.stdout  # native library chatter stays out of the table


def test_doctor_reports_a_missing_model_and_exits_1(tmp_path: Path) -> None:
    out = subprocess.run(
        [*_hirestream("doctor"), "--skip", "chromium", "--skip", "codecs"],
        env=_env(tmp_path, HIRESTREAM_MODELS_DIR=str(tmp_path / "empty")),
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout
    assert re.search(r"^model face_landmarker\s+FAIL", out.stdout, re.M)
    assert re.search(r"^model vad\s+ok", out.stdout, re.M)
    assert "2 problem(s)" in out.stdout
