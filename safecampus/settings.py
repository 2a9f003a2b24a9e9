"""safecampus settings: one file, read from the environment.

Every value has a safe default for a laptop demo (SQLite, 127.0.0.1), and every
value that is set but malformed stops start-up with a message naming it.

Environment:
    DEBUG              1/0 (default 0)
    SECRET_KEY         required unless DEBUG=1 or a key file exists in VAR_DIR
    DATABASE_URL       default sqlite:///<VAR_DIR>/safecampus.sqlite3
    DATABASE_RANDOM_PAGE_COST  PostgreSQL's random_page_cost per connection (1.1; empty: the
                       server's)
    ALLOWED_HOSTS      comma-separated (default 127.0.0.1,localhost)
    TIME_ZONE          IANA name (default Asia/Shanghai)
    HTTPS              1 when served behind TLS (default: the opposite of DEBUG)
    VAR_DIR            where the SQLite file, uploads and the generated key live
    CSRF_TRUSTED_ORIGINS comma-separated origins (scheme://host)
"""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {minimum}")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Under pytest: plain HTTP, no compressed-manifest static files, fresh connections.
TESTING = env_bool("SAFECAMPUS_TESTING", "pytest" in sys.modules)
HTTPS = env_bool("HTTPS", not DEBUG and not TESTING)

VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key is not None:
        if len(key) < 50 or len(set(key)) < 5:
            raise ImproperlyConfigured("SECRET_KEY: use at least 50 random characters")
        return key
    # No key in the environment: keep one generated for this installation, so a
    # laptop demo needs no set-up and sessions survive a restart.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS: {_origin!r} needs a scheme (https://...)"
        )

TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r}: not an IANA time zone") from None
USE_TZ = True
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "treebeard",
    "axes",
    "safecampus.audit",
    "safecampus.orgs",
    "safecampus.notify",
    "safecampus.notices",
    "safecampus.worker",
    "safecampus.reports",
    "safecampus.duty",
    "safecampus.incidents",
    "safecampus.hazards",
    "safecampus.routines",
    "safecampus.drills",
    "safecampus.levels",
    "safecampus.campaigns",
    "safecampus.dashboards",
    "safecampus.api",
    "safecampus.administration",
    "safecampus.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "safecampus.lib.middleware.CSPMiddleware",  # django-csp's, the policy built once
    # safecampus.lib.middleware's are Django's and django-htmx's for the site's pages
    # only: /api/ (bearer tokens, JSON) skips them (lib/middleware.site_only). CSRF
    # stays as Django's: the API's views are exempt, and `check --deploy` looks for it.
    "safecampus.lib.middleware.SessionMiddleware",
    "safecampus.lib.middleware.LocaleMiddleware",  # the API's language once per header
    "safecampus.lib.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "safecampus.lib.middleware.AuthenticationMiddleware",
    "safecampus.orgs.middleware.IdleTimeoutMiddleware",
    "safecampus.lib.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "safecampus.lib.middleware.HtmxMiddleware",
    "safecampus.audit.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "safecampus.urls"
WSGI_APPLICATION = "safecampus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "safecampus.orgs.context_processors.shell",
                "safecampus.notify.context_processors.inbox",
                "safecampus.worker.context_processors.worker_status",
                "safecampus.levels.context_processors.alert_level",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
_default_db = f"sqlite:///{VAR_DIR / 'safecampus.sqlite3'}"
try:
    _db = dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db),
        conn_max_age=600,  # persistent connections: a new one per request is ~8x slower
        conn_health_checks=True,
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # Writers queue behind one another instead of failing with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        ),
    }
    _db["CONN_MAX_AGE"] = 0 if TESTING else 600
    # Tests use a file, not SQLite's shared in-memory database: with the live
    # server, the worker and the test in different threads, an in-memory database
    # locks whole tables and fails instead of waiting (pytest-django gives each
    # xdist worker its own file; the process id keeps two runs apart).
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-safecampus-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
    # The few statements on a hot path run through lib.sql.prepared_cursor, which
    # PostgreSQL parses and plans once per connection (Django's own cursors never
    # prepare). DATABASE_PREPARED=0 turns that off, for a connection pooler that
    # cannot hold prepared statements (PgBouncer before 1.21 in transaction mode).
    if os.environ.get("DATABASE_PREPARED", "1") != "0":
        _db["OPTIONS"].setdefault("prepare_threshold", 5)
    # The planner's cost of a random page read, per connection. PostgreSQL's default,
    # 4, models spinning disks; on SSDs, or with the working set in memory, 1.1 is the
    # usual figure (PostgreSQL's manual, random_page_cost). At 4 the planner reads every
    # person in a seq scan to name the thousand people on duty in a city rather than
    # look them up by key (bench/duty_scale.py: that statement 33 → 25 ms).
    # DATABASE_RANDOM_PAGE_COST= (empty) leaves the server's own setting.
    _cost = os.environ.get("DATABASE_RANDOM_PAGE_COST", "1.1")
    if _cost:
        try:
            _cost = str(float(_cost))
        except ValueError:
            raise ImproperlyConfigured(
                f"DATABASE_RANDOM_PAGE_COST: not a number: {_cost!r}"
            ) from None
        _db["OPTIONS"].setdefault("options", f"-c random_page_cost={_cost}")
else:
    raise ImproperlyConfigured("DATABASE_URL: only sqlite:// and postgres:// are supported")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and login --------------------------------------------------------
AUTH_USER_MODEL = "orgs.Person"
# An administrator's one-time password link (administration.services.admin_password_reset)
# is good for a day, not Django's three.
PASSWORD_RESET_TIMEOUT = 24 * 60 * 60
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "safecampus.orgs.backends.UsernameOrMobileBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "safecampus.orgs.passwords.PolicyLengthValidator"},
    {"NAME": "safecampus.orgs.passwords.CharacterClassValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    # Hashing costs ~0.3 s a password on these machines; tests hash hundreds.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout (django-axes). The numbers come from the security policy that the
# security administrator edits (orgs.SecurityPolicy); these callables read it.
AXES_FAILURE_LIMIT = "safecampus.orgs.policy.axes_failure_limit"
AXES_COOLOFF_TIME = "safecampus.orgs.policy.axes_cooloff"
# Per account, not per address: a whole school often shares one NAT address, and
# locking it would shut every teacher out after one person's typos.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_CALLABLE = "safecampus.orgs.policy.axes_username"
AXES_LOCKOUT_CALLABLE = "safecampus.orgs.views_login.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

# Idle sessions end after the policy's idle timeout (default 30 minutes); every
# request pushes the expiry forward.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers ------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Language, static files ------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# A photo larger than this is refused (lib.images); phones' JPEGs are 2-6 MB.
PHOTO_MAX_MB = env_int("PHOTO_MAX_MB", 10, minimum=1)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- safecampus ----------------------------------------------------------------
SAFECAMPUS_DEMO_PASSWORD = os.environ.get("SAFECAMPUS_DEMO_PASSWORD", "Safe-2026")
# How long an API token stays valid.
API_TOKEN_LIFETIME = timedelta(days=env_int("API_TOKEN_DAYS", 30, minimum=1))
# Trust X-Forwarded-For for the client address (behind a reverse proxy only).
USE_X_FORWARDED_FOR = env_bool("USE_X_FORWARDED_FOR", False)

# Absolute address of this site, for links in messages (acknowledge, open).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# --- Notifications and the worker -------------------------------------------------
# Seconds to wait after the 1st, 2nd, … failed try; after the last, the delivery
# fails and falls back to the person's next channel.
try:
    NOTIFY_BACKOFF = [int(x) for x in env_list("NOTIFY_BACKOFF", "10,30,120,600,1800")]
except ValueError:
    raise ImproperlyConfigured("NOTIFY_BACKOFF: whole seconds, comma-separated") from None
NOTIFY_HTTP_TIMEOUT = float(env_int("NOTIFY_HTTP_TIMEOUT", 10, minimum=1))
# Private ranges webhooks may reach without an administrator adding them (tests: loopback).
NOTIFY_ALLOWED_NETWORKS = env_list("NOTIFY_ALLOWED_NETWORKS", "")
NOTIFY_LEASE_SECONDS = float(env_int("NOTIFY_LEASE_SECONDS", 10, minimum=1))
# After the back-off, a channel that is down is tried every NOTIFY_SLOW_RETRY seconds until
# NOTIFY_GIVE_UP_AFTER hours have passed since the first try (the administrator may change it).
NOTIFY_SLOW_RETRY = env_int("NOTIFY_SLOW_RETRY", 1800, minimum=1)
NOTIFY_GIVE_UP_AFTER = env_int("NOTIFY_GIVE_UP_AFTER", 72, minimum=1)
# The acknowledge link in a message works this many days after it was sent (then: 410).
NOTIFY_ACK_LINK_DAYS = env_int("NOTIFY_ACK_LINK_DAYS", 14, minimum=1)
WORKER_HEARTBEAT_SECONDS = float(env_int("WORKER_HEARTBEAT_SECONDS", 5, minimum=1))
WORKER_STALE_SECONDS = float(env_int("WORKER_STALE_SECONDS", 180, minimum=10))

# Email (SMTP). Django waits forever by default: a timeout is set.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "safecampus@localhost")

# SMS through an HTTP gateway in the shape of Aliyun or Tencent Cloud SendSms.
SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "")  # "aliyun", "tencent" or "" (off)
if SMS_PROVIDER not in ("", "aliyun", "tencent"):
    raise ImproperlyConfigured("SMS_PROVIDER: expected aliyun, tencent or empty")
SMS_ENDPOINT = os.environ.get("SMS_ENDPOINT", "")  # default: the provider's public endpoint
SMS_ACCESS_KEY_ID = os.environ.get("SMS_ACCESS_KEY_ID", "")
SMS_ACCESS_KEY_SECRET = os.environ.get("SMS_ACCESS_KEY_SECRET", "")
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
SMS_SDK_APP_ID = os.environ.get("SMS_SDK_APP_ID", "")  # Tencent only
SMS_REGION = os.environ.get("SMS_REGION", "ap-guangzhou")  # Tencent only
