"""Configuration, read from COGROW_* environment variables in one place."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"COGROW_{name}")
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def var_dir() -> Path:
    path = Path(_env("VAR_DIR", str(REPO_ROOT / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _development_secret(directory: Path) -> str:
    """Generate the development secret key once and keep it in var/."""
    key_file = directory / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


class Config:
    """Settings shared by every environment; built from the environment at app creation."""

    ENV_NAME = "development"
    TESTING = False

    def __init__(self) -> None:
        directory = var_dir()
        self.VAR_DIR = str(directory)
        self.ENV_NAME = _env("ENV", self.ENV_NAME)
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{directory / 'cogrow.sqlite'}")
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 30000)

        broker = _env("BROKER_URL", f"sqla+sqlite:///{directory / 'broker.sqlite'}")
        self.CELERY_BROKER_URL = broker
        self.CELERY_RESULT_BACKEND = _env("RESULT_BACKEND") or (
            broker if broker.startswith(("redis://", "rediss://")) else f"db+sqlite:///{directory / 'celery-results.sqlite'}"
        )
        self.CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_EAGER", False)
        # Longer than the longest task we run; see reliability.md.
        self.CELERY_VISIBILITY_TIMEOUT = _env_int("CELERY_VISIBILITY_TIMEOUT", 3600)

        self.SECRET_KEY = _env("SECRET_KEY")
        if not self.SECRET_KEY and self.ENV_NAME != "production":
            self.SECRET_KEY = _development_secret(directory)

        self.SESSION_COOKIE_NAME = "cogrow_session"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", self.ENV_NAME == "production")
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.SESSION_IDLE_TIMEOUT = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 30))
        self.SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_env_int("SESSION_ABSOLUTE_HOURS", 12))
        self.PERMANENT_SESSION_LIFETIME = self.SESSION_ABSOLUTE_TIMEOUT

        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None  # the session's own timeouts bound the token

        # Counts shared by every process: Redis when the broker is Redis, else a SQLite file in var/.
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URL") or (
            broker if broker.startswith(("redis://", "rediss://")) else f"sqlite:///{directory / 'ratelimit.sqlite'}")
        self.API_RATE_LIMIT = _env("API_RATE_LIMIT", "600 per minute")  # per API token
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
        self.LOGIN_ACCOUNT_RATE_LIMIT = _env("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour")

        self.BABEL_DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "ko")
        self.BABEL_DEFAULT_TIMEZONE = _env("TIMEZONE", "Asia/Seoul")
        self.BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "translations")
        self.LANGUAGES = ("ko", "en")

        self.INVITATION_TTL = timedelta(days=_env_int("INVITATION_DAYS", 14))
        self.PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:5000")

        # Imports: files above IMPORT_ASYNC_ROWS rows are applied by a Celery task with a progress bar.
        self.IMPORT_MAX_BYTES = _env_int("IMPORT_MAX_BYTES", 10 * 1024 * 1024)
        self.IMPORT_MAX_ROWS = _env_int("IMPORT_MAX_ROWS", 200_000)
        self.IMPORT_ASYNC_ROWS = _env_int("IMPORT_ASYNC_ROWS", 5000)
        self.IMPORT_MAX_UNZIPPED_BYTES = _env_int("IMPORT_MAX_UNZIPPED_BYTES", 200 * 1024 * 1024)
        # Errors kept per file; reading an all-bad file stops past this many. Files whose rows take more
        # bytes than IMPORT_INLINE_PARSE_BYTES (XLSX: unpacked) are read by the worker, not the web request.
        self.IMPORT_MAX_ERRORS = _env_int("IMPORT_MAX_ERRORS", 1000)
        self.IMPORT_INLINE_PARSE_BYTES = _env_int("IMPORT_INLINE_PARSE_BYTES", 256 * 1024)

        # Reconciliation: the full sweep behind a lock, and the outbox relay's pace.
        self.COVERAGE_SWEEP_MINUTES = _env_int("COVERAGE_SWEEP_MINUTES", 15)
        self.OUTBOX_RELAY_SECONDS = _env_int("OUTBOX_RELAY_SECONDS", 2)
        # A commit that wrote outbox rows wakes the relay at once (core/outbox.py); the beat's relay stays the net.
        self.OUTBOX_KICK = _env_bool("OUTBOX_KICK", True)
        # A published outbox row whose task has not finished within this lease is published again.
        self.OUTBOX_LEASE_SECONDS = _env_int("OUTBOX_LEASE_SECONDS", 300)
        # Production reports and machine readings kept, in whole months before the current one (PostgreSQL, where
        # they are partitioned by month; production/partitions.py). 0 keeps everything, the default: dropping
        # history is the operator's decision (the national network keeps e.g. 24 months, ~200 million rows). A
        # month still holding an item's latest report, or readings the ledger counts, is never dropped.
        self.PRODUCTION_RETENTION_MONTHS = max(_env_int("PRODUCTION_RETENTION_MONTHS", 0), 0)

        # Notifications: SMTP for e-mail; webhook targets on private networks only when allowed (tests).
        self.MAIL_SERVER = _env("MAIL_SERVER", "127.0.0.1")
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_FROM = _env("MAIL_FROM", "Cogrow <no-reply@cogrow.localhost>")
        self.MAIL_ENABLED = _env_bool("MAIL_ENABLED", True)
        self.MAIL_TIMEOUT_SECONDS = _env_int("MAIL_TIMEOUT_SECONDS", 10)
        # "smtp" sends through MAIL_SERVER; "file" writes each message as an .eml file under MAIL_DIR, which a
        # development admin reads at /dev/mail. Development without a mail server (the embedded default) uses
        # files: nothing listens on SMTP there, and every alert e-mail would fail and retry.
        self.MAIL_BACKEND = _env("MAIL_BACKEND", "file" if self.ENV_NAME == "development" and not _env("MAIL_SERVER")
                                 else "smtp")
        self.MAIL_DIR = _env("MAIL_DIR", str(directory / "mail"))
        self.WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE", False)
        # Ports a webhook may target, comma-separated (a receiver on another port needs it listed here).
        self.WEBHOOK_ALLOWED_PORTS = tuple(int(p) for p in (_env("WEBHOOK_ALLOWED_PORTS", "80,443") or "").split(",")
                                           if p.strip())
        self.WEBHOOK_TIMEOUT_SECONDS = _env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
        self.NOTIFY_MAX_ATTEMPTS = _env_int("NOTIFY_MAX_ATTEMPTS", 8)
        # How long a sender holds a delivery row it claimed; 0 derives it from the network timeouts.
        self.NOTIFY_LEASE_SECONDS = _env_int("NOTIFY_LEASE_SECONDS", 0)

    def validate(self) -> None:
        """Refuse to run production without the settings it cannot invent."""
        if self.MAIL_BACKEND not in ("smtp", "file"):
            raise RuntimeError("COGROW_MAIL_BACKEND must be smtp or file")
        if self.ENV_NAME == "production":
            if not self.SECRET_KEY or len(self.SECRET_KEY) < 32:
                raise RuntimeError("COGROW_SECRET_KEY must be set (32+ characters) in production")
            if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite") and not _env_bool("ALLOW_SQLITE", False):
                raise RuntimeError("production needs COGROW_DATABASE_URL pointing at PostgreSQL")


class TestingConfig(Config):
    """Settings for the test suite: a database given by the tests, eager nothing, no CSRF by default."""

    ENV_NAME = "testing"

    def __init__(self, database_url: str | None = None) -> None:
        super().__init__()
        self.ENV_NAME = "testing"
        self.TESTING = True
        if database_url:
            self.SQLALCHEMY_DATABASE_URI = database_url
        self.WTF_CSRF_ENABLED = False  # tests that check CSRF switch it back on
        self.OUTBOX_KICK = False  # most tests commit outbox rows and run no worker; the kick's tests switch it on
        self.LOGIN_RATE_LIMIT = "1000 per minute"  # the rate-limit test lowers it
        self.LOGIN_ACCOUNT_RATE_LIMIT = "1000 per minute"
        self.API_RATE_LIMIT = "100000 per minute"  # the API-limit test lowers it
        self.SECRET_KEY = "testing-secret-key-that-is-long-enough-0123456789"
