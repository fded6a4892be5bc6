from __future__ import annotations

import base64
from pathlib import Path

import pytest

from server.cli.main import main
from server.errors import ConfigError
from server.models import asr_config
from server.resources import webhook_config
from server.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HIRESTREAM_PORT", "HIRESTREAM_REDIS_URL", "HIRESTREAM_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(data_dir=Path("/srv/hs"))
    assert s.redis_url is None  # embedded
    assert s.effective_database_url == "sqlite:////srv/hs/hirestream.db"
    assert s.effective_public_url == "http://127.0.0.1:8080"
    assert s.video_analysis_fps == 10.0
    assert s.vad_hangover_ms == 300


def test_environment_over_file_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "hirestream.toml"
    cfg.write_text(
        'port = 9000\nlog_level = "debug"\npublic_url = "https://interviews.example.com/"\n'
        'ice_servers = [{urls = ["turn:turn.example.com"], username = "u", credential = "c"}]\n'
    )
    monkeypatch.setenv("HIRESTREAM_CONFIG", str(cfg))
    monkeypatch.setenv("HIRESTREAM_PORT", "9100")
    monkeypatch.setenv("HIRESTREAM_REDIS_URL", "redis://:pw@10.0.0.5:6379/2")
    s = load_settings()
    assert s.port == 9100  # environment wins over the file
    assert s.log_level == "DEBUG"  # from the file, normalised
    assert s.effective_public_url == "https://interviews.example.com"
    assert s.ice_servers[0].urls == ["turn:turn.example.com"]
    assert s.ice_servers[0].credential is not None
    assert s.ice_servers[0].plain() == {
        "urls": ["turn:turn.example.com"],
        "username": "u",
        "credential": "c",  # in clear only where a peer needs it
    }
    assert "pw" not in repr(s)  # secrets never show in reprs or logs


def test_explicit_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRESTREAM_PORT", "9100")
    assert load_settings(port=7000).port == 7000


def test_ice_servers_from_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRESTREAM_ICE_SERVERS", '[{"urls": ["stun:stun.example.org:3478"]}]')
    assert load_settings().ice_servers[0].urls == ["stun:stun.example.org:3478"]


@pytest.mark.parametrize(
    ("var", "value", "expect"),
    [
        ("HIRESTREAM_PORT", "eighty", "port (HIRESTREAM_PORT)"),
        ("HIRESTREAM_PORT", "70000", "port (HIRESTREAM_PORT)"),
        ("HIRESTREAM_LOG_LEVEL", "loud", "log_level"),
        ("HIRESTREAM_VIDEO_ANALYSIS_FPS", "0", "video_analysis_fps"),
        ("HIRESTREAM_ICE_SERVERS", "not json", "ice_servers"),
    ],
)
def test_bad_values_give_one_line(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, expect: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    msg = str(info.value)
    assert expect in msg
    assert "\n" not in msg


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(cfg)


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1\n")
    with pytest.raises(ConfigError, match="invalid configuration"):
        load_settings(bad)


KEY_32 = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "secret",
    ["whsec_" + KEY_32, "whsec_" + base64.b64encode(b"x" * 24).decode(), "r" * 24],
)
def test_webhook_secrets_that_sign(secret: str) -> None:
    assert load_settings(webhook_secret=secret).webhook_secret is not None


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("whsec_" + KEY_32.rstrip("="), "padded base64"),  # 44 chars with "=" stripped: 43
        ("whsec_" + base64.b64encode(b"short-key").decode(), "at least 24 bytes"),
        ("whsec_not*base64!", "padded base64"),
        ("too-short", "at least 24 characters"),
    ],
)
def test_webhook_secrets_that_would_fail_every_delivery(secret: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        load_settings(webhook_secret=secret)
    assert "webhook_secret (HIRESTREAM_WEBHOOK_SECRET)" in str(info.value)
    assert secret not in str(info.value)  # the secret is never echoed


def test_bad_webhook_secret_exits_2_before_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HIRESTREAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HIRESTREAM_WEBHOOK_SECRET", "whsec_" + KEY_32.rstrip("="))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hirestream: error: invalid configuration") and "webhook_secret" in err


def test_webhook_subscribers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRESTREAM_WEBHOOK_URL", "https://hr.example.com/all")
    monkeypatch.setenv(
        "HIRESTREAM_WEBHOOK_SUBSCRIBERS",
        '[{"url": "https://ats.example.com/hook", "format": "hr-xml",'
        ' "events": ["interview.report.finalized"]}]',
    )
    subs = webhook_config(load_settings()).subscribers
    assert [(s.url, s.format.value, s.event_types) for s in subs] == [
        ("https://hr.example.com/all", "hirestream", ("*",)),
        ("https://ats.example.com/hook", "hr-xml", ("interview.report.finalized",)),
    ]
    assert subs[1].wants("interview.report.finalized") and not subs[1].wants("offer.sent")


@pytest.mark.parametrize(
    ("subscribers", "why"),
    [
        ('[{"url": "ftp://x"}]', "url"),
        ('[{"url": "https://x", "format": "xml"}]', "format"),
        ('[{"url": "https://x", "events": []}]', "events"),
        ('[{"url": "https://x", "secret": "y"}]', "secret"),
    ],
)
def test_bad_webhook_subscribers_are_refused(
    monkeypatch: pytest.MonkeyPatch, subscribers: str, why: str
) -> None:
    monkeypatch.setenv("HIRESTREAM_WEBHOOK_SUBSCRIBERS", subscribers)
    with pytest.raises(ConfigError, match="webhook_subscribers") as info:
        load_settings()
    assert why in str(info.value)


def test_early_finals_must_come_before_the_hangover(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRESTREAM_VAD_HANGOVER_MS", "200")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "asr_early_final_quiet_s (0.2 s) must be shorter than vad_hangover_ms (200 ms)" in str(
        info.value
    )
    monkeypatch.setenv("HIRESTREAM_ASR_EARLY_FINAL_QUIET_S", "0")  # off: always valid
    assert load_settings().vad_hangover_ms == 200
    monkeypatch.setenv("HIRESTREAM_ASR_EARLY_FINAL_QUIET_S", "0.15")
    assert load_settings().asr_early_final_quiet_s == 0.15


def test_the_lead_in_reaches_the_asr_config_and_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert asr_config(load_settings(), "en").lead_in_s == 5.0
    monkeypatch.setenv("HIRESTREAM_ASR_LEAD_IN_S", "0")  # off: each segment decoded alone
    assert asr_config(load_settings(), "en").lead_in_s == 0.0
    monkeypatch.setenv("HIRESTREAM_ASR_LEAD_IN_S", "-1")
    with pytest.raises(ConfigError, match="asr_lead_in_s"):
        load_settings()


def test_video_analysis_nice_is_a_nice_increment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().video_analysis_nice == 10
    monkeypatch.setenv("HIRESTREAM_VIDEO_ANALYSIS_NICE", "0")  # same priority as speech
    assert load_settings().video_analysis_nice == 0
    monkeypatch.setenv("HIRESTREAM_VIDEO_ANALYSIS_NICE", "20")  # past Linux's range
    with pytest.raises(ConfigError, match="video_analysis_nice"):
        load_settings()
