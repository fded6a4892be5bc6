"""The one Settings object: environment (`HIRESTREAM_*`) over an optional TOML file over defaults.

Build it once with `load_settings()` and pass it down; nothing reads the environment elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from server.errors import ConfigError

CONFIG_ENV = "HIRESTREAM_CONFIG"


class WebhookSubscriber(BaseModel):
    """One more HR system to deliver to: its URL, the report format it wants and the event
    types it receives ("*": all; e.g. ["interview.report.finalized", "offer.accepted"])."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://")
    format: Literal["hirestream", "hr-xml", "frappe"] = "hirestream"
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50)


class IceServer(BaseModel):
    """One STUN/TURN server for WebRTC (same shape as the browser's RTCIceServer)."""

    urls: list[str]
    username: str | None = None
    credential: SecretStr | None = None

    def plain(self) -> dict[str, Any]:
        """The browser's and aiortc's shape, credential in clear: for the peers that use it."""
        secret = self.credential.get_secret_value() if self.credential else None
        return {"urls": self.urls, "username": self.username, "credential": secret}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HIRESTREAM_", extra="forbid", validate_default=True
    )

    # Network
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    public_url: str | None = Field(
        None,
        description="URL users reach the server at (links, Origin checks). Default: http://host:port",
    )

    tls_cert_file: Path | None = Field(
        None,
        description="PEM certificate (chain) to serve HTTPS directly; with tls_key_file. Unset: "
        "plain HTTP (put a TLS reverse proxy in front for candidates on other machines).",
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose pages may open the live WebSocket, "
        'JSON list, e.g. ["https://interviews.example.com"]. Always allowed: the public URL, '
        "and localhost and 127.0.0.1 on the server's port (http and https) for local use.",
    )
    contact: str | None = Field(
        None,
        max_length=200,
        description="Whom candidates contact about a bad or expired link (an email address or a "
        "short sentence), shown on the candidate's error pages.",
    )

    # State
    data_dir: Path = Field(
        Path("data"), description="Where the SQLite file and the embedded Redis keep their files."
    )
    redis_url: SecretStr | None = Field(
        None, description="External Redis, e.g. redis://127.0.0.1:6379/0. Unset: embedded Redis."
    )
    redis_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries of a Redis command after a connection error or timeout, with "
        "exponential backoff (0.2 s doubling, at most 1 s), so a restarted Redis is picked up "
        "by the same client.",
    )
    redis_health_check_interval_s: float = Field(
        10.0,
        ge=0,
        description="A Redis connection idle this long is checked with PING before reuse "
        "(0: never).",
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL, sqlite:///path or postgresql://user@host/db. "
        "Unset: SQLite at DATA_DIR/hirestream.db",
    )

    # Models (None = the file shipped by its package or committed in models_onnx/files)
    models_dir: Path | None = Field(
        None, description="Folder holding the committed model files (default: models_onnx/files)."
    )
    whisper_model_dir: Path | None = Field(None, description="CTranslate2 Whisper model folder.")
    whisper_compute_type: str = Field("int8", description="CTranslate2 compute type for ASR.")
    vad_model_path: Path | None = Field(None, description="silero VAD ONNX file.")
    face_model_path: Path | None = Field(None, description="MediaPipe face_landmarker.task file.")
    expression_model_path: Path | None = Field(None, description="Facial-expression ONNX file.")

    # Analysis rates
    video_analysis_fps: float = Field(
        10.0, gt=0, le=30, description="Video frames analysed per second while the face changes."
    )
    video_steady_fps: float = Field(
        5.0, gt=0, le=30, description="Video frames analysed per second on a still face."
    )
    video_analysis_nice: int = Field(
        10,
        ge=0,
        le=19,
        description=(
            "Lower CPU priority (nice increment, Linux) of the face and expression threads:"
            " on a saturated host captions come first. 0: same priority as speech."
        ),
    )
    asr_partial_interval_s: float = Field(
        0.5, gt=0, le=5, description="Seconds between partials (stretched under load)."
    )
    asr_workers: int = Field(
        1, ge=1, le=8, description="Threads decoding speech for all live interviews together."
    )
    asr_early_final_quiet_s: float = Field(
        0.2,
        ge=0,
        le=3,
        description="Quiet that lets a decoded final out before the utterance ends (0: wait "
        "for the hangover).",
    )
    asr_lead_in_s: float = Field(
        5.0,
        ge=0,
        le=10,
        description="Audio of the previous segment a long answer's next final hears first, "
        "from a pause (0: off).",
    )
    vad_hangover_ms: int = Field(300, ge=0, le=3000, description="Silence that ends an utterance.")

    # WebRTC
    ice_servers: list[IceServer] = Field(
        default_factory=list, description='JSON list, e.g. [{"urls": ["stun:stun.example.org"]}]'
    )

    # Interviews and access
    admin_api_key: SecretStr | None = Field(
        None, description="Bearer key for admin API calls. Unset: generated once into DATA_DIR."
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs candidate and interviewer tokens. Unset: generated into DATA_DIR."
    )
    admin_key_enabled: bool = Field(
        True,
        description="Accept the admin key (the operator's bootstrap key, allowed everything). "
        "Set false once HR people sign in and integrations use named API keys.",
    )
    session_idle_s: float = Field(
        2 * 3600, gt=0, description="A staff sign-in session unused this long ends."
    )
    session_max_s: float = Field(
        12 * 3600, gt=0, description="A staff sign-in session ends this long after sign-in."
    )
    lockout_failures: int = Field(
        5, ge=1, description="Wrong passwords or codes in a row that lock a staff account."
    )
    lockout_s: float = Field(900.0, gt=0, description="How long a locked account stays locked.")
    oidc_issuer: str | None = Field(
        None,
        description="Single sign-on: the OpenID Connect issuer URL (discovery at "
        "/.well-known/openid-configuration). Unset: password sign-in only.",
    )
    oidc_client_id: str | None = Field(None, description="Single sign-on client id.")
    oidc_client_secret: SecretStr | None = Field(None, description="Single sign-on secret.")
    oidc_roles_claim: str = Field(
        "groups", description="The ID token claim holding the person's groups."
    )
    oidc_role_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Groups to roles, JSON: {"hr": ["hr_admin"], "eng-leads": '
        '["hiring_manager:requisition=<id>"]}. Set: each sign-in sets the person\'s roles '
        "from their groups (no mapped group: refused). Unset: roles are managed here.",
    )
    invite_ttl_s: int = Field(7 * 24 * 3600, gt=0, description="Candidate invite lifetime.")
    interviewer_ttl_s: int = Field(30 * 24 * 3600, gt=0, description="Interviewer link lifetime.")
    max_live_interviews: int = Field(4, ge=1, description="Concurrent live interviews; 503 beyond.")
    media_timeout_s: float = Field(
        20.0, gt=0, description="No media for this long ends a live interview (network loss)."
    )
    notice_version: str = Field("2026-11", description="Version of the analysis notice shown.")
    interrupted_finalize_after_s: float = Field(
        300.0,
        gt=0,
        description="An interrupted interview (its live session was lost, e.g. by a server "
        "restart) that has not resumed after this long is finished from its stored history.",
    )
    rejoin_grace_s: float = Field(
        120.0,
        gt=0,
        description="After a dropped connection (reload, network change, closed tab) the "
        "analysis session is kept this long for the candidate to rejoin with the same link; "
        "then the interview is finished with the report of what was analysed, flagged "
        "interrupted. After a server restart (the session is lost) the link may rejoin for "
        "this long from the restart, into a session rebuilt from the live history; the "
        "interview is finished from that history after interrupted_finalize_after_s (never "
        "before this grace period ends).",
    )
    candidate_captions: bool = Field(
        False,
        description="Show the candidate live captions of their own answers (raw recognition "
        "errors unsettle candidates, hence off).",
    )
    live_state_ttl_s: int = Field(
        3600, gt=0, description="How long Redis keeps an interview's live state after it ends."
    )
    max_viewers_per_interview: int = Field(
        4, ge=1, description="Interviewers receiving one interview's video at once; 429 beyond."
    )
    viewer_connect_timeout_s: float = Field(
        15.0, gt=0, description="A viewer's connection not up within this is closed and dropped."
    )
    max_live_sockets_per_token: int = Field(
        4, ge=1, description="Live WebSockets open with one link (token); closed with 4429 beyond."
    )
    max_live_sockets_per_interview: int = Field(
        16, ge=1, description="Live WebSockets following one interview; closed with 4429 beyond."
    )

    # Reports to outside HR systems
    webhook_url: str | None = Field(
        None, description="POST finalized reports here (Standard Webhooks signatures)."
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Signing secret: 'whsec_' + padded base64 of at least 24 bytes, "
        "or a raw string of at least 24 characters.",
    )
    webhook_format: Literal["hirestream", "hr-xml", "frappe"] = Field(
        "hirestream", description="Report body: native JSON, HR-XML AssessmentReport, Frappe."
    )
    webhook_subscribers: list[WebhookSubscriber] = Field(
        default_factory=list,
        description='More HR systems, JSON: [{"url": ..., "format": "hr-xml", "events": '
        '["interview.report.finalized"]}]; each gets its own deliveries, signed with the '
        "same secret.",
    )
    webhook_max_attempts: int = Field(10, ge=1, le=50, description="Attempts before dead.")
    webhook_backoff_s: float = Field(2.0, gt=0, description="First retry delay; doubles.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="Per attempt.")

    # HTTP limits
    header_timeout_s: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="A connection that sends no complete request (headers) for this long, "
        "or idles this long between requests, is closed.",
    )
    auth_failure_limit: int = Field(
        20, ge=1, description="Bad credentials from one address within the window; 429 beyond."
    )
    auth_failure_window_s: float = Field(
        60.0, gt=0, le=86400, description="Window for auth_failure_limit (per process)."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, v: SecretStr | None) -> SecretStr | None:
        """Checked here: a secret the signer cannot decode would fail every delivery later."""
        if v is None:
            return v
        raw = v.get_secret_value()
        if raw.startswith("whsec_"):
            try:
                key = base64.b64decode(raw[6:], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("'whsec_' must be followed by padded base64") from None
            if len(key) < 24:
                raise ValueError("'whsec_' key must decode to at least 24 bytes")
        elif len(raw) < 24:
            raise ValueError("use at least 24 characters, or 'whsec_' + base64")
        return v

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        out = []
        for origin in v:
            parts = urlsplit(origin.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
                raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
            out.append(origin_of(origin.strip()))
        return out

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if settings_cls.model_config.get("toml_file"):
            sources += (TomlConfigSettingsSource(settings_cls),)
        return sources

    # Derived values

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both or neither")
        return self

    @model_validator(mode="after")
    def _early_final_before_hangover(self) -> Settings:
        # At or past the hangover the VAD has ended the utterance already: early finals would
        # never go out, and the setting would look in force while doing nothing.
        quiet, hangover = self.asr_early_final_quiet_s, self.vad_hangover_ms / 1000
        if quiet and quiet >= hangover:
            raise ValueError(
                f"asr_early_final_quiet_s ({quiet:g} s) must be shorter than vad_hangover_ms "
                f"({self.vad_hangover_ms} ms), or 0 to wait for the hangover"
            )
        return self

    @property
    def effective_public_url(self) -> str:
        scheme = "http" if self.tls_cert_file is None else "https"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")

    @property
    def origins(self) -> frozenset[str]:
        """Origins whose pages may use the live WebSocket: the configured ones, the public URL,
        and localhost/127.0.0.1 on this port (a browser on the server's own machine)."""
        local = {
            f"{scheme}://{host}:{self.port}"
            for scheme in ("http", "https")
            for host in ("localhost", "127.0.0.1", "[::1]")
        }
        return frozenset({*self.allowed_origins, *local, origin_of(self.effective_public_url)})

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'hirestream.db').resolve()}"


def origin_of(url: str) -> str:
    """A URL's origin as browsers send it: scheme://host[:port], lower case, without the
    scheme's default port (https://x.example:443 is sent as https://x.example)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        number = parts.port
    except ValueError:  # not a port: no origin (refused wherever one is required)
        return ""
    default = {"http": 80, "https": 443}.get(scheme)
    port = "" if number in (None, default) else f":{number}"
    return f"{scheme}://{host}{port}"


def _one_line(err: ValidationError, source: str) -> str:
    parts = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if not e["loc"]:  # a rule across fields: its message names them
            parts.append(msg)
            continue
        loc = ".".join(str(x) for x in e["loc"])
        env = f"HIRESTREAM_{loc.split('.')[0].upper()}"
        parts.append(f"{loc} ({env}): {msg}")
    return f"invalid configuration{source}: " + "; ".join(parts)


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build Settings from overrides > environment > TOML config file > defaults.

    The config file comes from the argument or `HIRESTREAM_CONFIG`. Raises ConfigError
    with a single readable line on any problem.
    """
    path = config_file or os.environ.get(CONFIG_ENV)
    cls: type[Settings] = Settings
    source = ""
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"config file {p} does not exist; fix {CONFIG_ENV} or --config, or remove it"
            )
        source = f" in {p} or the environment"
        cls = type(
            "Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": p}}
        )
    try:
        return cls(**overrides)
    except ValidationError as err:
        raise ConfigError(_one_line(err, source)) from None
    except (ValueError, OSError) as err:  # unreadable TOML, bad JSON in an env var
        raise ConfigError(f"invalid configuration{source}: {err}") from None
