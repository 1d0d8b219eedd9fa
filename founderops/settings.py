"""The only reader of the environment: every setting comes from a FOUNDEROPS_* variable.

Typed helpers fail loudly on a malformed value instead of guessing. Nothing here opens a
connection or touches the disk except creating the data directory.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Collection, Mapping
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from founderops.core import clock
from founderops.core.errors import InvalidInput
from founderops.revenue import keys as stripe_keys

BASE_DIR = Path(__file__).resolve().parent
_PREFIX = "FOUNDEROPS_"

# Every variable a helper has looked up; what is left over in the environment is a typo.
_read: set[str] = set()


def env_raw(name: str) -> str | None:
    """The one lookup: every helper reads through here, so the name is known to exist."""
    variable = _PREFIX + name
    _read.add(variable)
    return os.environ.get(variable)


def env_str(name: str, default: str, check: Callable[[str, str], object] | None = None) -> str:
    """A string; `check(value, name)` may refuse it by raising ImproperlyConfigured."""
    raw = env_raw(name)
    value = default if raw is None else raw
    if check is not None:
        check(value, name)
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env_raw(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"FOUNDEROPS_{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env_raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"FOUNDEROPS_{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"FOUNDEROPS_{name}={value} is below the minimum {minimum}")
    return value


def env_float(name: str, default: float, low: float, high: float) -> float:
    raw = env_raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"FOUNDEROPS_{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"FOUNDEROPS_{name}={value} is outside [{low}, {high}]")
    return value


def env_list(name: str, default: str, required: bool = False) -> list[str]:
    """Comma-separated; with `required`, a variable that is set must name at least one."""
    raw = env_raw(name)
    items = [item.strip() for item in (default if raw is None else raw).split(",")]
    values = [item for item in items if item]
    if required and not values:
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{name}={raw!r} is empty: name at least one (or unset it for {default})"
        )
    return values


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"FOUNDEROPS_{name}={value!r} is not one of: {allowed}")
    return value


def parse_zone(raw: str, setting: str) -> ZoneInfo:
    try:
        return clock.zone(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"FOUNDEROPS_{setting}={error}") from None


def parse_wall_time(raw: str, setting: str) -> time:
    try:
        return clock.wall_time(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"FOUNDEROPS_{setting}={error}") from None


def unknown_variables(environ: Mapping[str, str], known: Collection[str]) -> list[str]:
    """A warning for each FOUNDEROPS_* variable no setting reads, with the likely intent."""
    known_names = sorted(name.removeprefix(_PREFIX) for name in known)
    warnings = []
    for variable in sorted(v for v in environ if v.startswith(_PREFIX) and v not in known):
        close = difflib.get_close_matches(variable.removeprefix(_PREFIX), known_names, 1, 0.75)
        hint = f" (did you mean {_PREFIX}{close[0]}?)" if close else ""
        warnings.append(f"unknown setting {variable}{hint}")
    return warnings


SMTP_SCHEMES = ("smtp", "smtps", "smtp+plain")


def check_smtp_url(raw: str, setting: str) -> None:
    """Empty (replies stay in the cockpit) or smtp://, smtps://, smtp+plain:// with a host."""
    if not raw:
        return
    scheme, _, rest = raw.partition("://")
    host = rest.rpartition("@")[2].split("/", 1)[0]
    if scheme not in SMTP_SCHEMES or not host.split(":", 1)[0]:
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{setting} must look like smtp://user:password@host:587, "
            "smtps://user:password@host:465 or smtp+plain://host:25"
        )
    if not unquote(rest).isascii():
        # smtplib's AUTH sends credentials as ASCII only; say so now, not at the first reply.
        raise ImproperlyConfigured(f"FOUNDEROPS_{setting} holds non-ASCII characters")
    if not has_valid_port(raw):
        # Said at start, not at the first reply hours later (the URL holds a password).
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{setting} has a port that is not a number from 1 to 65535"
        )


def has_valid_port(url: str) -> bool:
    """No port, or a number from 1 to 65535 (urlsplit raises on anything else)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return False
    return port != 0


def check_web_url(raw: str, setting: str) -> None:
    """An http(s) URL with a host: links in mail and on pages are built from it."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{setting}={raw!r} is not a URL like https://ops.example.com"
        )


def check_optional_url(raw: str, setting: str) -> None:
    if raw:
        check_web_url(raw, setting)


def check_days(values: list[str], setting: str) -> list[int]:
    """Whole days from 0 to 365, each later than the one before (a schedule)."""
    days: list[int] = []
    for value in values:
        if not value.isdigit() or int(value) > 365:
            raise ImproperlyConfigured(
                f"FOUNDEROPS_{setting}: {value!r} is not a number of days from 0 to 365"
            )
        if days and int(value) <= days[-1]:
            raise ImproperlyConfigured(
                f"FOUNDEROPS_{setting}: the days must increase, like 0,3,7,14 ({value} after "
                f"{days[-1]})"
            )
        days.append(int(value))
    return days


def check_origins(origins: list[str], setting: str) -> list[str]:
    """Each one exactly as a browser sends Origin (scheme, host, port), since only an exact
    match is allowed: a path, a wildcard or a missing scheme would never match anything."""
    for origin in origins:
        parts = urlsplit(origin if has_valid_port(origin) else "")
        extra = parts.path.strip("/") or parts.query or parts.fragment or "@" in parts.netloc
        if parts.scheme not in ("http", "https") or not parts.hostname or extra or "*" in origin:
            raise ImproperlyConfigured(
                f"FOUNDEROPS_{setting}: {origin[:100]!r} is not an origin like "
                "https://example.com or http://localhost:3000 (scheme, host and port only)"
            )
    return origins


def check_user_password(raw: str, setting: str) -> None:
    """Empty (off) or `user:password`, the credentials of the basic-auth URL (not echoed)."""
    user, colon, password = raw.partition(":")
    if raw and not (user and colon and password):
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{setting} must be user:password (the credentials in the webhook URL)"
        )


def check_proxy(raw: str, setting: str) -> None:
    """Empty, "*", or one IP address (waitress compares the connection's address to it)."""
    if raw in {"", "*"}:
        return
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{setting}={raw!r} is not an IP address (or * for any proxy)"
        ) from None


def check_address(raw: str, setting: str) -> None:
    local, at, domain = raw.rpartition("@")
    if not (local and at and domain) or any(c.isspace() or c in "<>,;" for c in raw):
        raise ImproperlyConfigured(
            f"FOUNDEROPS_{setting}={raw[:100]!r} is not an e-mail address like support@example.com"
        )


def check_stripe_key(raw: str, setting: str) -> None:
    """Empty, or a Stripe secret or restricted key (`revenue.keys`); the value is never echoed."""
    if not raw:
        return
    try:
        stripe_keys.check_api_key(raw)
    except InvalidInput as error:
        raise ImproperlyConfigured(f"FOUNDEROPS_{setting} is {error}") from None


def check_webhook_secrets(values: list[str]) -> list[str]:
    """Each `whsec_…`, or `live:whsec_…` / `test:whsec_…` naming its endpoint's mode; the
    value itself is never echoed."""
    for value in values:
        mode, separator, key = value.partition(":")
        if separator and (mode not in ("live", "test") or not key):
            raise ImproperlyConfigured(
                "FOUNDEROPS_STRIPE_WEBHOOK_SECRET has an entry with a prefix other than live: or "
                "test:; give each endpoint's secret as whsec_… (of FOUNDEROPS_STRIPE_LIVEMODE's "
                "mode), live:whsec_… or test:whsec_…"
            )
        try:
            stripe_keys.check_webhook_secret(key if separator else value)
        except InvalidInput as error:
            raise ImproperlyConfigured(
                f"FOUNDEROPS_STRIPE_WEBHOOK_SECRET has an entry that is {error} (each entry is "
                "whsec_…, after live: or test:, as the endpoint's page in Stripe shows it)"
            ) from None
    return values


# The demo's Stripe key: in form only (`cli.demo_billing.DEMO_KEY`); nothing accepts it but
# the demo's own Stripe.
DEMO_STRIPE_KEY = "rk_live_inkwell_demo_history"


def check_demo_stripe(key: str, livemode: bool) -> None:
    """FOUNDEROPS_DEMO_STRIPE answers Stripe's calls from the demo's data: never beside a real
    key (whose calls it would swallow) or in test mode (the demo's history is live mode)."""
    demo_only = (
        "FOUNDEROPS_DEMO_STRIPE is for `founderops demo` only (it answers every Stripe call "
        "from the demo's data, nothing is sent)"
    )
    if key and key != DEMO_STRIPE_KEY:
        raise ImproperlyConfigured(
            f"{demo_only}, and FOUNDEROPS_STRIPE_API_KEY holds a real key: unset one of the two"
        )
    if not livemode:
        raise ImproperlyConfigured(
            f"{demo_only}, and the demo's history is live mode: unset FOUNDEROPS_DEMO_STRIPE or "
            "FOUNDEROPS_STRIPE_LIVEMODE=false"
        )


def check_stripe_mode(key: str, livemode: bool) -> None:
    """The key's mode and FOUNDEROPS_STRIPE_LIVEMODE agree, so test data never mixes with live."""
    if key and ("_live_" in key[:8]) != livemode:
        mode = "live" if livemode else "test"
        raise ImproperlyConfigured(
            f"FOUNDEROPS_STRIPE_API_KEY is not a {mode}-mode key but FOUNDEROPS_STRIPE_LIVEMODE "
            f"is {str(livemode).lower()}: use a {mode} key or change FOUNDEROPS_STRIPE_LIVEMODE"
        )


def database_config(url: str, data_dir: Path, test_name: str = "") -> dict[str, Any]:
    if not url:
        return sqlite_config(data_dir / "founderops.sqlite3")
    if not url.startswith(("sqlite:", "postgres:", "postgresql:")):
        raise ImproperlyConfigured(
            f"FOUNDEROPS_DATABASE_URL must start with sqlite:// or postgresql:// (got {url[:12]}…)"
        )
    config: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return sqlite_config(Path(config["NAME"]))
    config.setdefault("TEST", {})["NAME"] = test_name or None
    return config


def sqlite_config(path: Path) -> dict[str, Any]:
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on busy_timeout instead of failing half-way through a transaction.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
                " PRAGMA foreign_keys=ON;"
            ),
        },
        "TEST": {"NAME": str(path.with_name("test-" + path.name))},
    }


DATA_DIR = Path(env_str("DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key())
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]", required=True)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000", check=check_web_url)
# The reverse proxy in front of `founderops web` (its address, or "*" for any): its
# X-Forwarded-For names the client, which the rate limits count by.
TRUSTED_PROXY = env_str("TRUSTED_PROXY", "", check=check_proxy)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "founderops.core",
    "founderops.ai",
    "founderops.accounts",
    "founderops.customers",
    "founderops.support",
    "founderops.incidents",
    "founderops.revenue",
    "founderops.monitoring",
    "founderops.reports",
    "founderops.channels",
    "founderops.api",
    "founderops.web",
    "founderops.worker",
    "founderops.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "founderops.accounts.middleware.SessionTimeoutMiddleware",
    "founderops.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "founderops.urls"
WSGI_APPLICATION = "founderops.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": database_config(
        env_str("DATABASE_URL", ""), DATA_DIR, env_str("TEST_DATABASE_NAME", "")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Secrets stay out of the debug page and `founderops diffsettings`.
DEFAULT_EXCEPTION_REPORTER_FILTER = "founderops.core.secrets.SettingsFilter"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC", check=parse_zone)
USE_TZ = True
USE_I18N = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Used once by `founderops init` when no terminal can ask for it.
OWNER_PASSWORD = env_str("OWNER_PASSWORD", "")
# The demo's login; generated into the data dir when empty.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "")
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_AGE_SECONDS", 60 * 60 * 12, minimum=300)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 2_621_440, minimum=1024)

# The Support Agent.
SUPPORT_TARGET_PRECISION = env_float("SUPPORT_TARGET_PRECISION", 0.95, 0.5, 0.999)
# Share of unknown requests the calibration plans for (real traffic holds more than a
# validation set does, so the default is pessimistic).
SUPPORT_UNKNOWN_SHARE = env_float("SUPPORT_UNKNOWN_SHARE", 0.25, 0.0, 0.9)
SUPPORT_MAX_BODY_CHARS = env_int("SUPPORT_MAX_BODY_CHARS", 20_000, minimum=100)
SUPPORT_SIGNATURE = env_str("SUPPORT_SIGNATURE", "The support team")

# Incidents: resolved on their own once every alert stayed clear this long (0: never).
INCIDENT_AUTO_RESOLVE_MINUTES = env_int("INCIDENT_AUTO_RESOLVE_MINUTES", 10, minimum=0)
# A runbook's shell step may run at most this long, whatever the runbook asks.
RUNBOOK_SHELL_MAX_SECONDS = env_int("RUNBOOK_SHELL_MAX_SECONDS", 300, minimum=1)

# E-mail: replies go out by SMTP; mailboxes (IMAP) are connected in the cockpit.
# smtp://user:password@host:587 (STARTTLS), smtps://…:465 (TLS), or smtp+plain://host:25.
SMTP_URL = env_str("SMTP_URL", "", check=check_smtp_url)
# A CA bundle for a relay with a private certificate (the system's CAs otherwise).
SMTP_CA_FILE = env_str("SMTP_CA_FILE", "")
SMTP_TIMEOUT_SECONDS = env_float("SMTP_TIMEOUT_SECONDS", 20.0, 1.0, 120.0)
SUPPORT_FROM_EMAIL = env_str("SUPPORT_FROM_EMAIL", "support@localhost", check=check_address)
MAIL_MAX_BYTES = env_int("MAIL_MAX_BYTES", 15 * 1024 * 1024, minimum=1024)
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
MAIL_SENDER_LIMIT_PER_HOUR = env_int("MAIL_SENDER_LIMIT_PER_HOUR", 20, minimum=1)
IMAP_POLL_MINUTES = env_int("IMAP_POLL_MINUTES", 1, minimum=1)
# Inbound-mail webhooks: each provider's own way to prove a request is theirs.
MAILGUN_SIGNING_KEY = env_str("MAILGUN_SIGNING_KEY", "")
POSTMARK_INBOUND_SECRET = env_str("POSTMARK_INBOUND_SECRET", "", check=check_user_password)
SENDGRID_INBOUND_SECRET = env_str("SENDGRID_INBOUND_SECRET", "", check=check_user_password)
SENDGRID_PUBLIC_KEY = env_str("SENDGRID_PUBLIC_KEY", "")

# The public status page (/status/): its title, in the page, the feeds and notice e-mails.
STATUS_TITLE = env_str("STATUS_TITLE", "Status")

# The chat widget: the founder's sites that may embed it, and how hard it may be used.
WIDGET_ORIGINS = check_origins(env_list("WIDGET_ORIGINS", ""), "WIDGET_ORIGINS")
WIDGET_QUESTIONS_PER_HOUR = env_int("WIDGET_QUESTIONS_PER_HOUR", 20, minimum=1)

# Accounts: failed logins allowed per account and address before a pause, idle sign-out.
LOGIN_FAILURES_LIMIT = env_int("LOGIN_FAILURES_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=10)
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 60 * 60 * 2, minimum=60)
REQUIRE_2FA = env_bool("REQUIRE_2FA", False)
# The issuer an authenticator app shows beside the account name.
OTP_TOTP_ISSUER = "FounderOps"

# AI layer: "local" (embedded, offline), or a real provider for drafting.
AI_EMBEDDINGS = env_choice("AI_EMBEDDINGS", "minilm", {"minilm", "tfidf"})
LLM_PROVIDER = env_choice("LLM_PROVIDER", "none", {"none", "openai", "anthropic"})
LLM_BASE_URL = env_str("LLM_BASE_URL", "")
LLM_MODEL = env_str("LLM_MODEL", "")
LLM_API_KEY = env_str("LLM_API_KEY", "")
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 20.0, 1.0, 300.0)
if LLM_PROVIDER != "none" and not LLM_MODEL.strip():
    raise ImproperlyConfigured(
        f"FOUNDEROPS_LLM_MODEL is empty: FOUNDEROPS_LLM_PROVIDER={LLM_PROVIDER} needs a model name"
    )

# Notifications and the daily rhythm.
NOTIFY_URLS = env_list("NOTIFY_URLS", "")
BRIEFING_TIME = env_str("BRIEFING_TIME", "07:30", check=parse_wall_time)
BRIEFING_TIME_ZONE = env_str("BRIEFING_TIME_ZONE", TIME_ZONE, check=parse_zone)

# Monitoring: logs and metrics sent in (API, file tail, syslog).
LOG_LINES_PER_MINUTE = env_int("LOG_LINES_PER_MINUTE", 6000, minimum=10)
LOG_SAMPLE_EVERY = env_int("LOG_SAMPLE_EVERY", 100, minimum=1)
LOG_LINE_MAX_CHARS = env_int("LOG_LINE_MAX_CHARS", 2000, minimum=80)
LOG_ERROR_SPIKE_MIN = env_int("LOG_ERROR_SPIKE_MIN", 10, minimum=1)
LOG_MAX_SERVICES = env_int("LOG_MAX_SERVICES", 200, minimum=1)
INGEST_MAX_SKEW_SECONDS = env_int("INGEST_MAX_SKEW_SECONDS", 300, minimum=0)

# Jobs: django-q2 on the ORM broker (delivery receipts survive a killed worker).
JOB_WORKERS = env_int("WORKERS", 2, minimum=1)
JOB_TIMEOUT_SECONDS = env_int("JOB_TIMEOUT_SECONDS", 300, minimum=1)
JOB_RETRY_SECONDS = env_int("JOB_RETRY_SECONDS", 360, minimum=2)
if JOB_RETRY_SECONDS <= JOB_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("FOUNDEROPS_JOB_RETRY_SECONDS must be above JOB_TIMEOUT_SECONDS")
Q_CLUSTER = {
    "name": "founderops",
    "orm": "default",
    "workers": JOB_WORKERS,
    "timeout": JOB_TIMEOUT_SECONDS,
    "retry": JOB_RETRY_SECONDS,
    "max_attempts": env_int("JOB_MAX_ATTEMPTS", 5, minimum=1),
    "poll": env_float("JOB_POLL_SECONDS", 0.5, 0.05, 60.0),
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
    "label": "Jobs",
    "sync": env_bool("JOBS_SYNC", False),
}

# Monitoring: the check engine and how long its numbers are kept.
MONITOR_CONCURRENCY = env_int("MONITOR_CONCURRENCY", 100, minimum=1)
MONITOR_MAX_BODY_BYTES = env_int("MONITOR_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
METRICS_RAW_DAYS = env_int("METRICS_RAW_DAYS", 7, minimum=1)
METRICS_5MIN_DAYS = env_int("METRICS_5MIN_DAYS", 90, minimum=1)
METRICS_HOURLY_DAYS = env_int("METRICS_HOURLY_DAYS", 400, minimum=1)
CHECK_RESULTS_DAYS = env_int("CHECK_RESULTS_DAYS", 90, minimum=1)
# Monitors as code: a YAML file applied at start when it changed (empty: none).
MONITOR_CONFIG = env_str("MONITOR_CONFIG", "")

# Revenue: Stripe (a restricted key with read access; `founderops stripe connect` can store one
# encrypted instead), the webhook signing secrets (comma-separated: rotation, test and live
# endpoints; a bare secret signs events of STRIPE_LIVEMODE's mode, `test:whsec_…` or
# `live:whsec_…` says which), and which mode's data the revenue numbers are computed from.
STRIPE_API_KEY = env_str("STRIPE_API_KEY", "", check=check_stripe_key)
STRIPE_LIVEMODE = env_bool("STRIPE_LIVEMODE", True)
check_stripe_mode(STRIPE_API_KEY, STRIPE_LIVEMODE)
STRIPE_WEBHOOK_SECRET = check_webhook_secrets(env_list("STRIPE_WEBHOOK_SECRET", ""))
# For `founderops demo` only, which sets it for the web server and workers it starts: every
# request to api.stripe.com is answered from the demo's stored Stripe copy (`cli.
# demo_live_stripe`), never sent, with the demo's live-form key. A real key is refused with it.
DEMO_STRIPE = env_bool("DEMO_STRIPE", False)
if DEMO_STRIPE:
    check_demo_stripe(STRIPE_API_KEY, STRIPE_LIVEMODE)
    STRIPE_API_KEY = DEMO_STRIPE_KEY
# A signed webhook older (or further in the future) than this is refused as a replay.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=10)
STRIPE_RECONCILE_MINUTES = env_int("STRIPE_RECONCILE_MINUTES", 15, minimum=1)
# Gross margin for LTV (0.8 = 80 %); 1.0 shows revenue LTV, as ChartMogul does by default.
REVENUE_GROSS_MARGIN = env_float("REVENUE_GROSS_MARGIN", 1.0, 0.01, 1.0)
# Dunning after a failed payment: reminder e-mails and payment retries, in days after the
# failure (empty: none), and the page where customers update their card (empty: the invoice's
# own Stripe page).
DUNNING_SCHEDULE_DAYS = check_days(
    env_list("DUNNING_SCHEDULE_DAYS", "0,3,7,14"), "DUNNING_SCHEDULE_DAYS"
)
DUNNING_RETRY_DAYS = check_days(env_list("DUNNING_RETRY_DAYS", "3,7,14"), "DUNNING_RETRY_DAYS")
DUNNING_UPDATE_CARD_URL = env_str("DUNNING_UPDATE_CARD_URL", "", check=check_optional_url)

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request at INFO: the monitors' checks would flood the log.
        "httpx": {"level": "WARNING"},
        # stripe logs every API request at INFO (a backfill makes thousands).
        "stripe": {"level": "WARNING"},
        # django-q2 logs every enqueued job at INFO, which would chatter through every
        # command's output; `founderops up` and `worker` raise it back to LOG_LEVEL.
        "django-q": {"level": max(LOG_LEVEL, "WARNING", key=logging.getLevelName)},
        # apprise logs whole notification URLs (their tokens) when it cannot load one; its
        # messages reach the founder scrubbed, through core.notify, and never the log.
        "apprise": {"handlers": ["discard"], "propagate": False},
    },
}

# Last: every helper has run, so a FOUNDEROPS_* variable none of them read is a typo.
for _warning in unknown_variables(os.environ, _read):
    print(f"founderops: warning: {_warning}", file=sys.stderr)
