"""Settings for the playground, read from `PLAYGROUND_*` environment variables.

With nothing set, the site runs with its embedded defaults: SQLite under
var/, Channels' in-memory layer and the local executor. The executor's own
settings (limits) are read by `executor.config` from the same environment.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PLAYGROUND_VAR_DIR", BASE_DIR / "var"))


def _secret_key() -> str:
    if key := os.environ.get("PLAYGROUND_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PLAYGROUND_DEBUG", "") == "1"
ALLOWED_HOSTS = [
    h
    for h in os.environ.get("PLAYGROUND_ALLOWED_HOSTS", "127.0.0.1,localhost").split(
        ","
    )
    if h
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "playground.apps.PlaygroundConfig",
]

# Django's own middleware, as subclasses that run in the event loop for the
# JSON API (playground/inloop.py); the pages get them unchanged.
MIDDLEWARE = [
    "playground.inloop.Security",
    "playground.middleware.content_security_policy",
    "playground.inloop.Sessions",
    "playground.inloop.Common",
    "playground.inloop.Csrf",
    "playground.inloop.Authentication",
    "playground.inloop.Messages",
    "playground.inloop.FrameOptions",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        # Concurrent requests wait for each other instead of failing with
        # "database is locked": a transaction takes the write lock when it
        # begins, and with a write-ahead log readers never block a writer.
        # Every run writes its audit record before its answer goes out: with
        # the log a commit is one append, not two synced files; a power cut
        # may lose the last records, and the database stays whole.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# -- several machines: PostgreSQL and Redis (docs/deployment.md) -------------
if database_url := os.environ.get("PLAYGROUND_DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(database_url)}

if redis_url := os.environ.get("PLAYGROUND_REDIS_URL"):
    # Runs go to Celery workers (executor.backends.celery); the rate limits'
    # state and the channel layer are shared by every web process.
    REDIS_PREFIX = os.environ.get("PLAYGROUND_REDIS_PREFIX") or "playground:"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 times reads out after 5 s by default, the very
                # time channels_redis blocks waiting for a message.
                "hosts": [{"address": redis_url, "socket_timeout": 30}],
                "prefix": f"{REDIS_PREFIX}asgi",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"{REDIS_PREFIX}cache",
        }
    }

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

USE_TZ = True
TIME_ZONE = "UTC"  # the supervisor logs in UTC too
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("PLAYGROUND_LOG_LEVEL", "INFO"),
    },
}

# Sharing and embedding. Origins that may frame /embed/ pages, separated by
# spaces or commas: `*` (the default) lets any site embed snippets.
PLAYGROUND_EMBED_ORIGINS = (
    os.environ.get("PLAYGROUND_EMBED_ORIGINS", "*").replace(",", " ").split()
)
# Teachers' accounts are made by an administrator unless sign-up is enabled.
PLAYGROUND_SIGNUP = os.environ.get("PLAYGROUND_SIGNUP", "") == "1"
# Teachers' passwords: Django's usual checks, for sign-up, the admin and
# `manage.py createsuperuser` alike.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in ("UserAttributeSimilarityValidator", "MinimumLengthValidator",
                 "CommonPasswordValidator", "NumericPasswordValidator")
]  # fmt: skip
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/collections/"
LOGOUT_REDIRECT_URL = "/"
# The CSRF token reaches scripts through the page, not the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "playground.pages.csrf_failure"

# Behind a proxy that terminates TLS and always sets X-Forwarded-Proto, this
# lets the site see HTTPS requests as such, so that cookies are marked Secure.
if os.environ.get("PLAYGROUND_BEHIND_HTTPS_PROXY", "") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
