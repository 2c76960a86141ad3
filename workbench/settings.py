"""Settings, read from the environment (see the table in README.md).

With nothing set, the workbench runs as a demo: DEBUG on, a local SQLite file and
Celery tasks run eagerly in-process. The real setup names PostgreSQL in DATABASE_URL
and Redis in CELERY_BROKER_URL, and runs `celery -A workbench worker`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Written into every export's dataset card and the API schema.
WORKBENCH_VERSION = "0.1.0"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS. With DEBUG off the workbench expects to sit behind a proxy that ends TLS and sets
# X-Forwarded-Proto (and strips a client's own): cookies only travel over HTTPS, plain
# HTTP is redirected, and browsers are told to use HTTPS only. Each can be switched off
# for a plain-HTTP intranet; `manage.py check --deploy` then warns about it, as it should.
HTTPS_ONLY = not DEBUG
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("TRUST_X_FORWARDED_PROTO", default=HTTPS_ONLY)
    else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS_ONLY)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=HTTPS_ONLY)
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60 if HTTPS_ONLY else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS_ONLY)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS_ONLY)
# The health check answers load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "annotations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers for a sign-in that the lockout refused.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy, in the demo too, so that a page that breaks it shows up at once:
# scripts only from the workbench's own files (no inline script, no eval), nothing framed,
# no plugins. Inline styles stay allowed: the editor sets label colours per element.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "workbench.urls"
WSGI_APPLICATION = "workbench.wsgi.application"

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
            ],
        },
    },
]

# No DATABASE_URL: the demo's SQLite file. PostgreSQL tests get a UTF8 database whatever
# the cluster's encoding, so that length() counts characters (docs/offsets.md).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'workbench.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if not SECRET_KEY:
    # Only the demo (DEBUG on) gets a key of its own: made once and kept in a file beside
    # the SQLite database (or in the project folder), so that a restart signs nobody out.
    from django.core.management.utils import get_random_secret_key

    _database = DATABASES["default"]
    DEMO_SECRET_KEY_FILE = (
        Path(_database["NAME"]).parent
        if _database["ENGINE"] == "django.db.backends.sqlite3" and _database["NAME"] != ":memory:"
        else BASE_DIR
    ) / "demo-secret-key"
    if DEMO_SECRET_KEY_FILE.exists():
        SECRET_KEY = DEMO_SECRET_KEY_FILE.read_text().strip()
    if not SECRET_KEY:
        SECRET_KEY = get_random_secret_key()
        DEMO_SECRET_KEY_FILE.touch(mode=0o600)
        DEMO_SECRET_KEY_FILE.write_text(SECRET_KEY)
# A kept connection is tried before a request reuses it: after a database restart the
# request reconnects instead of failing on the dead connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["TEST"] = {"CHARSET": "UTF8", "TEMPLATE": "template0"}
    # A database that does not answer fails a request in seconds, not after the kernel's
    # TCP timeout; queries themselves are bounded by gunicorn's worker timeout.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=3
    )
    # Server-side parameters let psycopg prepare a statement a connection runs often:
    # PostgreSQL then skips planning, about half its CPU on a span write. Off behind a
    # pooler in transaction mode (PgBouncer before 1.21), where prepared statements break.
    if env.bool("DATABASE_PREPARED", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Failed sign-ins are counted per account and per address (django-axes): past the limit,
# both are refused for the cool-off, with 429 and Retry-After, even with the right password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "annotations.views.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "annotations.views.accounts.client_address"
AXES_VERBOSE = False
# How many proxies in front append to X-Forwarded-For (0: the peer is the client).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Invitation links work once, for this many days.
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
if INVITATION_DAYS < 1:
    raise ImproperlyConfigured("INVITATION_DAYS must be at least 1.")

# Mail (invitations, password resets): printed on the console unless EMAIL_URL names an
# SMTP server: smtp+tls://user:password@mail.example.org:587 (STARTTLS), smtp+ssl://...:465
# (TLS from the start) or smtp://... (no TLS); percent-encode @ or : in the password.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="workbench@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# This host's own folder for files on their way (an upload over 2 MiB as it arrives, an
# export archive before it is published, a stored file read back): never shared between
# hosts. Blank: the system's temporary folder.
FILE_UPLOAD_TEMP_DIR = env.str("SCRATCH_DIR", default="") or None
if FILE_UPLOAD_TEMP_DIR:
    Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

# Where everything lives that one process writes and another reads (export archives,
# uploaded import files): MEDIA_ROOT on this host's disk, or a bucket that every host
# reaches (S3 or S3-compatible). Several hosts need the bucket: nothing else is shared.
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
S3_URL_EXPIRE_SECONDS = env.int("S3_URL_EXPIRE_SECONDS", default=60)
if STORAGE_BACKEND == "local":
    _files: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "s3":
    if not env.str("S3_BUCKET", default=""):
        raise ImproperlyConfigured("S3_BUCKET must be set when STORAGE_BACKEND is s3.")
    if S3_URL_EXPIRE_SECONDS < 1:
        raise ImproperlyConfigured("S3_URL_EXPIRE_SECONDS must be at least 1.")
    _cloudfront = {
        "cloudfront_key_id": env.str("S3_CLOUDFRONT_KEY_ID", default="") or None,
        "cloudfront_key": env.str("S3_CLOUDFRONT_KEY", default="").encode() or None,
    }
    if env.str("S3_CUSTOM_DOMAIN", default="") and not all(_cloudfront.values()):
        # A URL on a custom domain is signed by CloudFront's key pair, not S3's keys:
        # without one, downloads would be handed out as plain, unsigned links.
        raise ImproperlyConfigured(
            "S3_CUSTOM_DOMAIN needs S3_CLOUDFRONT_KEY_ID and S3_CLOUDFRONT_KEY, so that "
            "download links stay signed."
        )
    _files = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "location": env.str("S3_PREFIX", default=""),
            "addressing_style": env.str("S3_ADDRESSING_STYLE", default="") or None,
            "custom_domain": env.str("S3_CUSTOM_DOMAIN", default="") or None,
            **_cloudfront,
            "signature_version": "s3v4",
            # Objects stay private (the bucket's default): reached by signed links only.
            "querystring_auth": True,
            "querystring_expire": S3_URL_EXPIRE_SECONDS,
            # Two uploads with one name must not overwrite each other (as on a disk).
            "file_overwrite": False,
            # A stored file read back is spooled to SCRATCH_DIR past 2 MiB, not memory.
            "max_memory_size": 2 * 1024 * 1024,
        },
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be local or s3, not {STORAGE_BACKEND!r}.")
STORAGES = {
    "default": _files,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The largest upload (an import file), in bytes: refused with 413 before it is read.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=256 * 2**20)
# The most a zip of documents may unpack to (the sizes its members declare): more is
# refused before anything is read, so a small archive cannot fill the disk or the database.
IMPORT_MAX_UNZIPPED_BYTES = env.int("IMPORT_MAX_UNZIPPED_BYTES", default=8 * UPLOAD_MAX_BYTES)
FILE_UPLOAD_HANDLERS = [
    "annotations.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# The largest request body that is not a file (JSON, form fields), held in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=50 * 1024 * 1024)
# An uploaded file larger than this goes to a file in SCRATCH_DIR as it arrives, and storage
# takes it from there: a web process never holds a large import in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "annotations.api.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "annotations.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotations.api.exceptions.exception_handler",
    # Making API tokens (password in, token out) is throttled per address.
    "DEFAULT_THROTTLE_RATES": {"token": env.str("TOKEN_THROTTLE_RATE", default="10/minute")},
    "NUM_PROXIES": PROXY_COUNT,
}

# Throttling counts live here: with several web processes, name a shared cache
# (CACHE_URL=redis://...) so that they count together.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# The most span and link operations one batch write to a layer carries (docs/layer-writes.md).
LAYER_OPERATIONS_MAX = env.int("LAYER_OPERATIONS_MAX", default=500)

SPECTACULAR_SETTINGS = {
    "TITLE": "Annotation workbench API",
    "DESCRIPTION": "Span annotation with measured agreement. Offsets are Unicode code points.",
    "VERSION": WORKBENCH_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's assets come from the installed sidecar package, not a CDN, so the
    # page works on a closed network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status": give each choice set its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStatusEnum": "annotations.models.AssignmentStatus",
        "LayerStatusEnum": "annotations.models.LayerStatus",
        "JobStatusEnum": "annotations.models.JobStatus",
        # And several have a "kind": labels, catalogues, source entities.
        "LabelKindEnum": "annotations.models.LabelKind",
        "CatalogueKindEnum": "annotations.models.CatalogueKind",
        "SourceKindEnum": "annotations.models.SourceKind",
    },
}

# Celery. No broker configured: the demo runs tasks in-process, at once.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, mended so that a worker outlives a Redis restart.
    CELERY_BROKER_TRANSPORT = "workbench.broker:Transport"
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged when it ends, so a worker killed mid-task leaves it to another;
# the tasks claim their job row first, which makes running one twice harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A large export (100,000 documents as XMI) runs far longer than other tasks: its own
# limits, in seconds.
EXPORT_TIME_LIMIT = env.int("EXPORT_TIME_LIMIT", default=3 * 60 * 60)
EXPORT_SOFT_TIME_LIMIT = EXPORT_TIME_LIMIT - 5 * 60
# Redis redelivers an unacknowledged task after this many seconds, and a redelivered job
# task takes its job over: it must outlast the longest task (an export), or a slow job
# would start again. A dead worker's jobs do not wait for it: a starting worker and the
# sweep below take them over.
# A broker that does not answer (down, frozen, a half-open connection) fails a publish
# within these seconds instead of hanging the web request that starts a job.
BROKER_TIMEOUT = env.float("CELERY_BROKER_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=EXPORT_TIME_LIMIT + 600),
    "socket_timeout": BROKER_TIMEOUT,
    "socket_connect_timeout": BROKER_TIMEOUT,
    # A publish that finds no connection tries once, not again and again: a job whose
    # task was not published stays queued, and the sweep publishes it later.
    "max_retries": 0,
}

# Jobs (imports, agreement runs, exports), in seconds: a running job's worker refreshes
# its heartbeat every JOB_HEARTBEAT_SECONDS; every JOB_SWEEP_SECONDS the sweep (on Celery
# beat) runs again the jobs whose heartbeat is older than JOB_STALE_SECONDS, which must
# outlast a few heartbeats and the longest retry backoff (40 s). A job claimed
# JOB_MAX_ATTEMPTS times fails instead of being run again.
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=10.0)
JOB_STALE_SECONDS = env.float("JOB_STALE_SECONDS", default=120.0)
JOB_SWEEP_SECONDS = env.float("JOB_SWEEP_SECONDS", default=60.0)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=10)
if JOB_STALE_SECONDS <= 2 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("JOB_STALE_SECONDS must be more than two heartbeats.")
CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {"task": "annotations.tasks.recovery.sweep_jobs", "schedule": JOB_SWEEP_SECONDS}
}

# Agreement runs: documents a chunk task measures, and the quiet period after the last
# submission before a run starts by itself (0: never; runs are then started by hand).
# Without a broker (the demo) the run starts right after each submission.
AGREEMENT_CHUNK_DOCUMENTS = env.int("AGREEMENT_CHUNK_DOCUMENTS", default=1000)
# Documents an export chunk task writes (docs/exports.md): fewer means one worker. Each
# chunk task costs more than its documents (bench/README.md), so not too few either.
EXPORT_CHUNK_DOCUMENTS = env.int("EXPORT_CHUNK_DOCUMENTS", default=10000)
AGREEMENT_RERUN_AFTER_SECONDS = env.int("AGREEMENT_RERUN_AFTER_SECONDS", default=30)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's loggers come with a level and handlers of their own (a console one when
    # DEBUG is on): without these, LOG_LEVEL=ERROR still printed every 404's warning, twice
    # in the demo. Their records now go to the root's handler, at the root's level.
    "loggers": {"django": {"level": LOG_LEVEL}},
}
