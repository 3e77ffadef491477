"""Settings for the supervision platform, read from the environment.

Every variable is documented in README.md ("Configuration"). A bad value stops
start-up with a message naming the variable (see core/env.py).
"""

import os
import secrets
from datetime import time, timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from core.env import env_bool, env_database, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY", "")
    if key:
        if not DEBUG and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY: must be at least 50 characters when DEBUG is off")
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: this environment variable must be set when DEBUG is off")
    # Development only: a key kept outside the repository, stable across restarts
    # so that sessions survive a reload of the dev server.
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The absolute address printed in QR codes and documents; never derived from the request,
# so a forged Host header cannot change what a code points to. Unset, it is the local server on
# PORT (scripts/serve's port), so a demo on another port prints codes that open.
PORT = env_int("PORT", 8000, minimum=1)
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "config.apps.BackgroundTasks",  # django_tasks_db, named for the admin (config/apps.py)
    "config.apps.SignInLockouts",  # axes: login lock-out, see AXES_* below
    # The layers, bottom to top (docs/ARCHITECTURE.md). Each feature of supervision is an app of
    # its own, for its templates, static files, management commands and start-up wiring; the
    # models of all of them stay in the supervision app, so no table moved.
    "core",
    "checklists",
    "history",
    "supervision",
    "supervision.inspections",
    "supervision.self_inspection",
    "supervision.risk",
    "supervision.complaints",
    "supervision.publication",
    "supervision.monitor",
    "supervision.landing",
    # Above the other features: it listens to their signals (supervision/notifications/apps.py).
    "supervision.notifications",
    "planning",
    "demo",
]

MIDDLEWARE = [
    # First: a page whose database is unreachable answers 503, and the connections a request opens
    # get the web statement timeout (DB_STATEMENT_TIMEOUT).
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app server itself, so N app servers need no shared disk.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the form: a NUL (or other control character) in a path, query, form
    # or JSON string is refused with 400 before any of it reaches the database.
    "core.middleware.InvalidCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # A service's refusal that a page did not show next to a form: one error page everywhere.
    "core.pages.DomainErrorMiddleware",
    # Last: turns a sign-in that django-axes refused into the lock-out page or API error.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
                # The inbox bell in the header of every signed-in page.
                "supervision.notifications.context_processors.inbox",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# The statements run on every request (a bearer token, the caller's roles, a scanned code, an
# answer's autosave: core.prepared) are prepared on the PostgreSQL server once per connection. Off
# behind a pooler in transaction mode older than PgBouncer 1.21 (they need the same connection).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a transaction takes the write lock when it begins, so two
        # writers queue instead of one failing with "database is locked" halfway.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not the in-memory default: tests then see the same locking as the running app.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT compiles a plan's expressions when its estimated cost is high: on a 2.5M-row table every
    # ranking or scoring query qualifies, and compiling takes longer than these queries run.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # A database that accepts the connection and never answers (or an address that drops packets)
    # fails the connection after this many seconds (libpq counts less than 2 as 2), so the request
    # answers 503 instead of hanging until the worker is killed. A DATABASE_URL's own wins.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))
    if DB_PREPARED_STATEMENTS:
        # Django's own cursors bind on the client and never prepare; with a threshold psycopg
        # prepares what core.prepared asks for at once, and nothing else by count (2**31 runs).
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31)
# Seconds a statement may run in a connection opened to serve a web request (0: no limit). Below
# the server's worker timeout, so a stuck query fails (503) before the worker is killed. Commands
# and task workers (migrate, recompute_scores, imports) open their connections outside a request
# and have no limit: core.middleware applies it. PostgreSQL only.
DB_STATEMENT_TIMEOUT = env_int("DB_STATEMENT_TIMEOUT", 30, minimum=0)
# Parallel workers per query in a connection opened to serve a web request (PostgreSQL's
# max_parallel_workers_per_gather; core.middleware): starting them costs more than a page's short
# queries gain. Commands and task workers keep the server's setting (the full recompute's scans).
DB_REQUEST_PARALLEL_WORKERS = env_int("DB_REQUEST_PARALLEL_WORKERS", 0, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked (it logs nobody in; being
    # a ModelBackend, it is also the one force_login and sessions name).
    "axes.backends.AxesStandaloneBackend",
    # Then a sign-in from an address that failed too often (SIGNIN_FAILURES_PER_ADDRESS), also
    # before any password is hashed.
    "core.signin.AddressThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login lock-out (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from one
# client address, that pair is refused, right password included, until AXES_COOLOFF_MINUTES have
# passed since its last failure. The web sign-in, the admin's and POST /api/v1/auth/token all count.
# Per pair, so that nobody can lock a user out from elsewhere by guessing at their username.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The address behind TRUSTED_PROXY_COUNT proxies, as scans and complaints see it.
AXES_CLIENT_IP_CALLABLE = "core.clients.client_ip"
AXES_LOCKOUT_CALLABLE = "core.views.login_locked_out"
# Axes prints a banner to stdout at every start (and so into every management command's output).
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Bearer tokens for tablets and scripts expire; the owner can revoke them sooner.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30, minimum=1)
# Sign-in throttles, counted in the shared cache (CACHES) so that they hold across workers and
# restarts: requests to POST /api/v1/auth/token per client address, and failed sign-ins (web, admin,
# API) per address across all usernames, against password spraying; both refused before any
# password is hashed. The lock-out above is per username and address.
API_TOKEN_REQUESTS_PER_MINUTE = env_int("API_TOKEN_REQUESTS_PER_MINUTE", 20, minimum=1)
SIGNIN_FAILURES_PER_ADDRESS = env_int("SIGNIN_FAILURES_PER_ADDRESS", 30, minimum=1)
SIGNIN_FAILURES_WINDOW_MINUTES = env_int("SIGNIN_FAILURES_WINDOW_MINUTES", 60, minimum=1)

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))


def _media_storage() -> dict:
    """Uploaded and generated files: a folder (one machine), or an S3-compatible bucket that N app
    servers and the task workers share (docs/DEPLOY.md).

    Files never go out by a storage URL: photos and documents are streamed by views that check
    permissions, and evidence originals are never served at all. The bucket stays private and any
    URL the storage makes is signed and short-lived, so a `.url` added one day cannot publish one.
    """
    kind = env_str("MEDIA_STORAGE", "filesystem")
    if kind == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE: expected filesystem or s3, got {kind!r}")
    addressing_style = env_str("AWS_S3_ADDRESSING_STYLE", "auto")
    if addressing_style not in {"auto", "path", "virtual"}:
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE: expected auto, path or virtual, got {addressing_style!r}"
        )
    # Unset: Amazon S3 itself. MinIO, Ceph and the clouds' S3-compatible services give their address.
    endpoint_url = env_url("AWS_S3_ENDPOINT_URL", "") if env_str("AWS_S3_ENDPOINT_URL", "") else None
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", required=True),
            "access_key": env_str("AWS_ACCESS_KEY_ID", required=True),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", required=True),
            "endpoint_url": endpoint_url,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "addressing_style": None if addressing_style == "auto" else addressing_style,
            # A key prefix, so that one bucket can hold several installations (or environments).
            "location": env_str("AWS_LOCATION", ""),
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": 300,
            # No ACL header: objects take the bucket's own policy, which must block public access.
            "default_acl": None,
            # Like the filesystem: a name already taken gets a new one, never overwrites. Evidence
            # originals are never replaced, and core.qr.stored_or_render relies on it in a race.
            "file_overwrite": False,
        },
    }


STORAGES = {
    "default": _media_storage(),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise scans it at start-up
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Security (production values are the defaults whenever DEBUG is off) ---------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies in front append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    # base-uri has no default-src fallback: without it an injected <base> re-points relative URLs.
    # object-src would fall back to 'self'; plug-ins are refused outright.
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Background tasks (Django's Tasks API) ---------------------------------------------------
# "database": a table polled by `manage.py db_worker` (one machine); "rq": Redis at REDIS_URL, run
# by `manage.py rqworker default` on any number of machines (scale-out, docs/DEPLOY.md);
# "immediate": run inline (tests, and scripts that want the result now).
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
_task_backend = env_str("TASKS_BACKEND", "database")
if _task_backend not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND: expected one of {', '.join(_TASK_BACKENDS)}, got {_task_backend!r}"
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[_task_backend], "QUEUES": ["default"]}}

# django-rq's queues, one per Tasks queue above. Defined whatever the backend (a Redis client
# connects on first use, so the default path needs no Redis); the app, with its queue pages
# under /admin/, is installed only with "rq", where the backend's system check requires it.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL: expected redis://, rediss:// or unix://, got {REDIS_URL!r}")
RQ_QUEUES = {
    # RQ kills a job that runs longer than this: it must fit a 50,000-page code batch and a full rescoring.
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("TASK_TIMEOUT", 3 * 3600, minimum=60)},
}
# Workers must run jobs through django-tasks-rq's Job class, which calls the Task and records
# its result; set here so that a plain `manage.py rqworker default` does.
RQ = {"JOB_CLASS": "django_tasks_rq.Job"}
if _task_backend == "rq":
    INSTALLED_APPS += ["django_rq"]

# --- Cache: throttles, lock-outs, rate limits (core.ratelimit) -----------------------------------
# Shared by every worker and machine, so that a limit counted in it holds across all of them (a
# cache in each process's memory multiplies the limit by the workers and forgets it at each
# restart). Redis where one is deployed: CACHE_URL, or the queue's REDIS_URL with TASKS_BACKEND=rq;
# otherwise "database", the database's table django_cache (core's migration 0008 creates it).
# "locmem" is one process's memory: for the test suite only.
CACHE_URL = env_str("CACHE_URL", REDIS_URL if _task_backend == "rq" else "database")
if CACHE_URL == "database":
    # Culling must not drop live counters: expired rows go first, and far fewer are live at once.
    _cache = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}
    _cache["OPTIONS"] = {"MAX_ENTRIES": 200_000}
elif CACHE_URL == "locmem":
    _cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
elif CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    _cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL: expected database, locmem, redis://, rediss:// or unix://, got {CACHE_URL!r}"
    )
CACHES = {"default": _cache}

# --- Photos (complaints, self-inspections, inspections) ------------------------------------------
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 15 * 1024 * 1024, minimum=1024)
# Decoded size limit: a 20000x20000 "decompression bomb" is 400 Mpx; a phone photo is under 50.
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 60_000_000, minimum=1_000_000)
# Photos from people not signed in (the public's reports): at most this many pixels decoded (a
# JPEG larger than that is decoded at a half, quarter or eighth of its size when that fits), and
# at most PHOTO_PUBLIC_DECODES of them decoded at once across all workers; the next is asked to
# try again (503), so such uploads can never hold every worker.
PHOTO_PUBLIC_MAX_PIXELS = env_int("PHOTO_PUBLIC_MAX_PIXELS", 16_000_000, minimum=1_000_000)
PHOTO_PUBLIC_DECODES = env_int("PHOTO_PUBLIC_DECODES", 2, minimum=1)
# Complaints from the public card: per client per hour (refused beyond it). About one enterprise,
# COMPLAINT_FLOOD_PER_DAY in 24 hours flags a possible flood for the regulators (every report is
# still received: a flood must never silence genuine reports).
COMPLAINTS_PER_CLIENT_PER_HOUR = env_int("COMPLAINTS_PER_CLIENT_PER_HOUR", 5, minimum=1)
COMPLAINT_FLOOD_PER_DAY = env_int("COMPLAINT_FLOOD_PER_DAY", 50, minimum=2)
# Failed scans of /c/<token> (unknown, malformed, revoked or replaced codes) recorded one by one per
# client per minute; beyond that the last one recorded counts the rest. Every shown scan is recorded.
SCAN_FAILURES_RECORDED_PER_MINUTE = env_int("SCAN_FAILURES_RECORDED_PER_MINUTE", 10, minimum=1)
# Shown scans are written in batches (core.scanlog): up to SCAN_LOG_BATCH rows, or whatever waited
# SCAN_LOG_FLUSH_MS, in one INSERT, and the rest when a worker stops gracefully. A worker killed
# outright (SIGKILL, a crash) loses at most its last second of shown scans; failed scans are written
# at once. SCAN_LOG_BATCH=1 writes every scan in its own request (the test suite does).
SCAN_LOG_BATCH = env_int("SCAN_LOG_BATCH", 200, minimum=1)
SCAN_LOG_FLUSH_MS = env_int("SCAN_LOG_FLUSH_MS", 1000, minimum=10)
# The public card's panels (published results, tier badge, manual notice) of an enterprise are kept
# in each worker's memory this long: a result published or a tier changed shows on the public card
# up to this late. The code itself is checked at every scan (a revoked code is refused at once),
# and the faces of signed-in users are never kept. 0: computed at every scan (the test suite).
SCAN_CARD_CACHE_SECONDS = env_int("SCAN_CARD_CACHE_SECONDS", 30, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The most items one checklist may have: an import with more is refused (an inspection answers each).
CHECKLIST_MAX_ITEMS = env_int("CHECKLIST_MAX_ITEMS", 2000, minimum=1)


# --- The closed loop ----------------------------------------------------------------------------------
def _rectify_days() -> dict[str, int]:
    raw = env_str("RECTIFY_DAYS", "critical=3,major=7,minor=15")
    try:
        days = {key.strip(): int(value) for key, value in (part.split("=") for part in raw.split(","))}
    except ValueError:
        raise ImproperlyConfigured(
            f"RECTIFY_DAYS: expected critical=N,major=N,minor=N, got {raw!r}"
        ) from None
    if set(days) != {"critical", "major", "minor"} or min(days.values()) < 1:
        raise ImproperlyConfigured(
            f"RECTIFY_DAYS: give critical, major and minor, each at least 1 day; got {raw!r}"
        )
    return days


# Default rectification deadline by the most severe finding of an order.
RECTIFY_DAYS = _rectify_days()
# The inspectors' tablets (docs/OFFLINE.md): the day pack carries the tasks due today and in the
# next N days, so that a tablet that loses its signal tomorrow morning still has them.
TABLET_DAYS_AHEAD = env_int("TABLET_DAYS_AHEAD", 2, minimum=0)

# 一公开: results of drawn and routine inspections go public this many days after submission (the
# window in which the business sees the result first and may object).
PUBLICATION_DELAY_DAYS = env_int("PUBLICATION_DELAY_DAYS", 7, minimum=0)


# --- Notifications: the inbox, email and SMS (supervision/notifications, docs/DEPLOY.md) -----------
# Email goes through Django's email framework: SMTP below, or a provider's API through
# django-anymail (EMAIL_BACKEND=anymail.backends.<provider>.EmailBackend and its ANYMAIL_* keys).
_EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": {
            "host": env_str("EMAIL_HOST", "localhost"),
            "port": env_int("EMAIL_PORT", 25, minimum=1),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            # Far shorter than NOTIFY_LEASE_SECONDS: a worker still waiting on the server keeps its claim.
            "timeout": env_int("EMAIL_TIMEOUT", 20, minimum=1),
        }
        if _EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
        else {},
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value for name, value in os.environ.items() if name.startswith("ANYMAIL_")
}
NOTIFY_EMAIL = env_bool("NOTIFY_EMAIL", True)
# SMS: none, console (the log), file (JSON lines in SMS_FILE_PATH) or aliyun (Alibaba Cloud SMS).
SMS_BACKEND = env_str("SMS_BACKEND", "console" if DEBUG else "none")
if SMS_BACKEND not in {"none", "console", "file", "aliyun"}:
    raise ImproperlyConfigured(f"SMS_BACKEND: expected none, console, file or aliyun, got {SMS_BACKEND!r}")
SMS_FILE_PATH = Path(env_str("SMS_FILE_PATH", str(VAR_DIR / "sms.jsonl")))
SMS_TIMEOUT = env_int("SMS_TIMEOUT", 10, minimum=1)
SMS_ALIYUN_ENDPOINT = env_url("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com") + "/"
SMS_ALIYUN_ACCESS_KEY_ID = env_str("SMS_ALIYUN_ACCESS_KEY_ID", "", required=SMS_BACKEND == "aliyun")
SMS_ALIYUN_ACCESS_KEY_SECRET = env_str("SMS_ALIYUN_ACCESS_KEY_SECRET", "", required=SMS_BACKEND == "aliyun")
SMS_ALIYUN_SIGN_NAME = env_str("SMS_ALIYUN_SIGN_NAME", "", required=SMS_BACKEND == "aliyun")
# One approved template per language, each with one variable that takes the text: zh-hans=SMS_1,en=SMS_2.
SMS_ALIYUN_TEMPLATES = env_str("SMS_ALIYUN_TEMPLATES", "", required=SMS_BACKEND == "aliyun")
SMS_ALIYUN_TEMPLATE_PARAM = env_str("SMS_ALIYUN_TEMPLATE_PARAM", "content")


def _days_list(name: str, default: str) -> tuple[int, ...]:
    raw = env_str(name, default)
    try:
        days = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True))
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected whole numbers of days, e.g. 2,0; got {raw!r}") from None
    if not days or min(days) < 0:
        raise ImproperlyConfigured(f"{name}: give at least one number of days, none negative; got {raw!r}")
    return days


def _quiet_hours(name: str, default: str) -> tuple[time, time]:
    raw = env_str(name, default)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected HH:MM-HH:MM, e.g. 22:00-07:00; got {raw!r}") from None
    return start, end


# Reminders of an order's deadline, in local days before the deadline's day (0: on the day).
NOTIFY_REMINDER_DAYS = _days_list("NOTIFY_REMINDER_DAYS", "2,0")
# No SMS in these local hours unless the user chose others (equal: none); an SMS waits for the end.
NOTIFY_QUIET_HOURS = _quiet_hours("NOTIFY_QUIET_HOURS", "22:00-07:00")
# Per recipient and hour; more wait for the next hour (nothing is dropped).
NOTIFY_SMS_PER_HOUR = env_int("NOTIFY_SMS_PER_HOUR", 5, minimum=1)
NOTIFY_EMAIL_PER_HOUR = env_int("NOTIFY_EMAIL_PER_HOUR", 30, minimum=1)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 8, minimum=1)
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 300, minimum=60)
NOTIFY_SWEEP_LIMIT = env_int("NOTIFY_SWEEP_LIMIT", 2000, minimum=1)
NOTIFY_FANOUT_LIMIT = env_int("NOTIFY_FANOUT_LIMIT", 20000, minimum=1)
# The regulators' digest of yesterday's overdue orders, from this local hour on.
NOTIFY_DIGEST_HOUR = env_int("NOTIFY_DIGEST_HOUR", 8, minimum=0)
NOTIFY_OVERDUE_LOOKBACK_DAYS = env_int("NOTIFY_OVERDUE_LOOKBACK_DAYS", 7, minimum=1)
NOTIFY_PUBLICATION_NOTICE_DAYS = env_int("NOTIFY_PUBLICATION_NOTICE_DAYS", 2, minimum=0)
NOTIFY_MANUAL_LOOKBACK_DAYS = env_int("NOTIFY_MANUAL_LOOKBACK_DAYS", 30, minimum=1)
# A data source that sent nothing for this long is reported to those who manage it.
NOTIFY_SOURCE_SILENT_HOURS = env_int("NOTIFY_SOURCE_SILENT_HOURS", 48, minimum=1)


# --- The audit chain's key and checkpoints (core/audit_keys.py, core/checkpoints.py) ------------
# Unset, the key is derived from SECRET_KEY (check --deploy warns); see docs/DEPLOY.md.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY", "")
if AUDIT_CHAIN_KEY and len(AUDIT_CHAIN_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_CHAIN_KEY: must be at least 32 characters")
AUDIT_CHAIN_OLD_KEYS = env_list("AUDIT_CHAIN_OLD_KEYS", [])
AUDIT_CHECKPOINT_DIR = Path(env_str("AUDIT_CHECKPOINT_DIR", str(VAR_DIR / "audit-checkpoints")))
AUDIT_CHECKPOINT_EVERY = env_int("AUDIT_CHECKPOINT_EVERY", 1000, minimum=0)


# --- Risk scores ----------------------------------------------------------------------------------
# Chunks of the full recompute run side by side on PostgreSQL, one connection each
# (supervision.risk.scoring.recompute_workers): about the cores the database may use for it.
SCORE_RECOMPUTE_WORKERS = env_int("SCORE_RECOMPUTE_WORKERS", 2, minimum=1)

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint narrates every render step at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# --- API ------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200
