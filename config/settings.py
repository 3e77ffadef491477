"""Settings for the supervision platform, read from the environment.

Every variable is documented in README.md ("Configuration"). A bad value stops
start-up with a message naming the variable (see core/env.py).
"""

import secrets
from datetime import timedelta
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
    "planning",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app server itself, so N app servers need no shared disk.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked (it logs nobody in).
    "axes.backends.AxesStandaloneBackend",
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

# --- Photos (complaints, self-inspections, inspections) ------------------------------------------
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 15 * 1024 * 1024, minimum=1024)
# Decoded size limit: a 20000x20000 "decompression bomb" is 400 Mpx; a phone photo is under 50.
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 60_000_000, minimum=1_000_000)
# Complaints from the public card: per client per hour, and per enterprise per day.
COMPLAINTS_PER_CLIENT_PER_HOUR = env_int("COMPLAINTS_PER_CLIENT_PER_HOUR", 5, minimum=1)
COMPLAINTS_PER_ENTERPRISE_PER_DAY = env_int("COMPLAINTS_PER_ENTERPRISE_PER_DAY", 50, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024


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

# 一公开: results of drawn and routine inspections go public this many days after submission (the
# window in which the business sees the result first and may object).
PUBLICATION_DELAY_DAYS = env_int("PUBLICATION_DELAY_DAYS", 7, minimum=0)


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
