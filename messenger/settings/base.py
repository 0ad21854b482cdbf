"""Settings shared by every environment; values come from environment variables."""

from pathlib import Path
from typing import Any

import dj_database_url

from messenger.settings.environment import env_bool, env_int, env_list, env_oauth_client, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    # Social sign-in: a provider is used only when configured (below).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
    "messenger",
    "accounts",
    "contacts",
    "conversations",
    "notifications",
    "api",
]

MIDDLEWARE = [
    # Outermost, so it times everything below it.
    "messenger.middleware.request_metrics_middleware",
    "messenger.middleware.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "messenger.urls"
ASGI_APPLICATION = "messenger.asgi.application"
WSGI_APPLICATION = "messenger.wsgi.application"

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
                "notifications.context_processors.unread",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://messenger:messenger@127.0.0.1:5432/messenger"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Django turns psycopg's prepared statements off (prepare_threshold=None), and
# then psycopg ignores even an explicit ``prepare=True``: the hot paths'
# statements (messenger/prepared.py) were planned again on every run, and
# planning took most of their time.  Django's own queries bind on the client
# and are never prepared either way.  Off only behind a pooler that cannot
# keep prepared statements (pgbouncer in transaction mode before 1.21).
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "prepare_threshold": 5 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None,
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "messenger"),
    }
}

# The pub/sub layer: measured faster than the classic list-based layer for
# group broadcast (see README "Channel layer"); both are at-most-once, and
# PostgreSQL plus catch-up is the delivery guarantee.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": env_str("CHANNEL_LAYER_PREFIX", "messenger"),
        },
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Django's database sessions, whose end (logout, expiry) also closes the
# sockets opened with them (messenger/sessions.py).
SESSION_ENGINE = "messenger.sessions"

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "conversations:index"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_UNIQUE_EMAIL = True
# Account safety (docs/authentication.md).  A password reset answers the
# same for known and unknown addresses (an unknown one gets a "no account"
# email).  allauth's rate limits count in the default cache, Redis, so every
# web process shares them; these add to allauth's own defaults.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = {
    "login": env_str("ACCOUNT_RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": env_str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": env_str("ACCOUNT_RATE_LIMIT_SIGNUP", "20/m/ip"),
    "reset_password": env_str("ACCOUNT_RATE_LIMIT_RESET_PASSWORD", "20/m/ip,5/m/key"),
}
# Behind N reverse proxies, the client's address is the Nth from the right
# of X-Forwarded-For; 0 (direct): REMOTE_ADDR.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Social sign-in through allauth: GitHub, Google and one OpenID Connect
# provider, each on only when its client id and secret are set (the OIDC one
# also needs its server URL).  The apps live here, not in the database, and
# the sign-in pages list only these.
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {}
if github := env_oauth_client("GITHUB"):
    SOCIALACCOUNT_PROVIDERS["github"] = {"APPS": [github], "SCOPE": ["read:user", "user:email"]}
if google := env_oauth_client("GOOGLE"):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [google],
        "SCOPE": ["openid", "profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
    }
if (oidc := env_oauth_client("OIDC")) and env_str("OIDC_SERVER_URL", ""):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                **oidc,
                "provider_id": env_str("OIDC_PROVIDER_ID", "oidc"),
                "name": env_str("OIDC_PROVIDER_NAME", "OpenID Connect"),
                "settings": {
                    "server_url": env_str("OIDC_SERVER_URL", ""),
                    "oauth_pkce_enabled": True,
                },
            }
        ],
    }
# A provider's email never signs someone into an existing account, nor
# links to it: whoever controls that provider account would take it over.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_AUTO_SIGNUP = True

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Messenger <noreply@localhost>")
# SMTP, for the SMTP backend (production's default).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A hung SMTP server fails the send (to be retried) instead of blocking the sender.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT: Path | None = BASE_DIR / "var" / "staticfiles"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"

REST_FRAMEWORK = {
    # The API (api/): one error format, its OpenAPI schema, throttles.
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.PersonThrottle",
        "api.throttling.AnonymousThrottle",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # The client address of the anonymous throttle: X-Forwarded-For only as
    # far as our own proxies wrote it (DRF's default trusts all of it).
    "NUM_PROXIES": ALLAUTH_TRUSTED_PROXY_COUNT,
    # The token class first: its "Bearer" challenge makes a request without
    # credentials a 401 (docs/authentication.md).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.authentication.TokenScopePermission",
    ],
}
# Personal access tokens (accounts.AccessToken): usable ones a person may hold.
ACCESS_TOKEN_MAX_PER_USER = env_int("ACCESS_TOKEN_MAX_PER_USER", 50)

# API throttles, counted in the shared cache: per person (anonymous callers
# by address) and, tighter, per anonymous address.  "N/second|minute|hour|day".
API_THROTTLE_USER_RATE = env_str("API_THROTTLE_USER_RATE", "600/minute")
API_THROTTLE_ANON_RATE = env_str("API_THROTTLE_ANON_RATE", "60/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Messenger API",
    "DESCRIPTION": "Everything a person can do in the browser. See docs/api.md.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from drf-spectacular-sidecar, served by us.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Kafka: the messaging backbone.  Topic names carry a prefix so several
# deployments (or test runs) can share one cluster.
KAFKA_BOOTSTRAP_SERVERS = env_list("KAFKA_BOOTSTRAP_SERVERS", ["127.0.0.1:9092"])
KAFKA_TOPIC_PREFIX = env_str("KAFKA_TOPIC_PREFIX", "messenger.")
KAFKA_TOPIC_PARTITIONS = env_int("KAFKA_TOPIC_PARTITIONS", 6)
KAFKA_TOPIC_REPLICATION_FACTOR = env_int("KAFKA_TOPIC_REPLICATION_FACTOR", 1)
KAFKA_TOPIC_RETENTION_MS = env_int("KAFKA_TOPIC_RETENTION_MS", 7 * 24 * 3600 * 1000)
# With one replica down, writes with acks=all still succeed; with two down
# they stop rather than risk a lost message.
KAFKA_TOPIC_MIN_INSYNC_REPLICAS = env_int(
    "KAFKA_TOPIC_MIN_INSYNC_REPLICAS", min(2, KAFKA_TOPIC_REPLICATION_FACTOR)
)
KAFKA_CONSUMER_GROUP = env_str("KAFKA_CONSUMER_GROUP", "messenger")
KAFKA_MAX_POLL_RECORDS = env_int("KAFKA_MAX_POLL_RECORDS", 500)
# A worst-case batch (500 events, each a few queries) takes well under a
# second; five minutes leaves room for a slow database without a rebalance.
KAFKA_MAX_POLL_INTERVAL_MS = env_int("KAFKA_MAX_POLL_INTERVAL_MS", 300_000)
# A consumer process that dies without leaving the group holds its partitions
# this long; the broker's minimum is 6 s.
KAFKA_SESSION_TIMEOUT_MS = env_int("KAFKA_SESSION_TIMEOUT_MS", 10_000)
KAFKA_METADATA_MAX_AGE_MS = env_int("KAFKA_METADATA_MAX_AGE_MS", 60_000)
# 0: a lone message goes out at once; under load the producer still batches
# what queues up while a request is in flight.
KAFKA_PRODUCER_LINGER_MS = env_int("KAFKA_PRODUCER_LINGER_MS", 0)
KAFKA_PRODUCER_MAX_BLOCK_MS = env_int("KAFKA_PRODUCER_MAX_BLOCK_MS", 5_000)
KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS = env_int("KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS", 15_000)

AVATAR_MAX_BYTES = env_int("AVATAR_MAX_BYTES", 5 * 1024 * 1024)
# Checked from the image header before decoding: a decompression bomb is
# refused without being decompressed.
AVATAR_MAX_PIXELS = env_int("AVATAR_MAX_PIXELS", 40_000_000)
AVATAR_SIZE = 256
# Attachments: images and files shared in conversations (see README
# "Attachments").  The type is detected from the bytes; images get a WebP
# thumbnail, decoded only after the header's pixel count is checked.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)
ATTACHMENT_MAX_PIXELS = env_int("ATTACHMENT_MAX_PIXELS", 50_000_000)
ATTACHMENT_THUMBNAIL_SIZE = 480
ATTACHMENTS_PER_MESSAGE = 10
ATTACHMENT_RATE_LIMIT = env_int("ATTACHMENT_RATE_LIMIT", 60)
ATTACHMENT_RATE_WINDOW_SECONDS = env_int("ATTACHMENT_RATE_WINDOW_SECONDS", 60)
# Uploads never sent with a message are deleted after this many hours
# (manage.py purge_unsent_attachments, run it from cron).
ATTACHMENT_UNSENT_HOURS = env_int("ATTACHMENT_UNSENT_HOURS", 24)
# Files go through Django's storage API: the file system (MEDIA_ROOT) by
# default, any S3-compatible store when S3_BUCKET is set (needs
# requirements-s3.txt: django-storages with boto3).  Files are never served
# from a public URL: the authorising views stream them from the storage.
if env_str("S3_BUCKET", ""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET", ""),
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "") or None,
            # Empty: boto3's own chain (AWS_* variables, instance role, ...).
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("S3_PREFIX", ""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
# Message search: longer queries are refused with a clear error.
SEARCH_MAX_QUERY_LENGTH = env_int("SEARCH_MAX_QUERY_LENGTH", 500)
SEARCH_PAGE_SIZE = 20
CONTACT_REQUEST_RATE_LIMIT = env_int("CONTACT_REQUEST_RATE_LIMIT", 20)
CONTACT_REQUEST_RATE_WINDOW_SECONDS = env_int("CONTACT_REQUEST_RATE_WINDOW_SECONDS", 3600)
USER_SEARCH_PAGE_SIZE = 20
# A socket's registrations in Redis (presence, the conversation its tab
# shows) last this long unless its web process rewrites them, which it does
# every SOCKET_REGISTRATION_REFRESH_SECONDS while the socket is open
# (messenger/registrations.py): a crashed process's sockets drop out.
PRESENCE_TTL_SECONDS = env_int("PRESENCE_TTL_SECONDS", 75)
SOCKET_REGISTRATION_REFRESH_SECONDS = env_int("SOCKET_REGISTRATION_REFRESH_SECONDS", 30)
# A user whose last socket closed is announced offline only after this long,
# so a page reload or a flapping network does not flicker.
PRESENCE_GRACE_SECONDS = env_int("PRESENCE_GRACE_SECONDS", 5)
# How often each web process checks that channel-layer pushes still reach it
# (messenger/realtime.py); after an interruption its sockets reconnect and sync.
CHANNEL_LAYER_CHECK_MS = env_int("CHANNEL_LAYER_CHECK_MS", 1000)
TYPING_THROTTLE_SECONDS = 3

MESSAGE_MAX_LENGTH = env_int("MESSAGE_MAX_LENGTH", 10_000)
MESSAGE_RATE_LIMIT = env_int("MESSAGE_RATE_LIMIT", 30)
MESSAGE_RATE_WINDOW_SECONDS = env_int("MESSAGE_RATE_WINDOW_SECONDS", 10)
MESSAGE_PAGE_SIZE = 50
# How many conversations the list draws before "Show all".
SIDEBAR_SIZE = env_int("SIDEBAR_SIZE", 50)

# Notifications (notifications/): email after a delay, web push with VAPID.
# Absolute links in emails start with SITE_URL.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
NOTIFICATION_EMAIL_DELAY_MINUTES = env_int("NOTIFICATION_EMAIL_DELAY_MINUTES", 10)
# How often `manage.py send_notifications` looks for due emails and pushes.
NOTIFICATION_SEND_INTERVAL_SECONDS = env_int("NOTIFICATION_SEND_INTERVAL_SECONDS", 2)
# A failed email or push is retried after 30 s, 60 s, 120 s, … and recorded
# as failed after this many attempts.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 5)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", 30)
# `manage.py generate_vapid_keys` prints a pair; without them push is off.
WEBPUSH_VAPID_PUBLIC_KEY = env_str("WEBPUSH_VAPID_PUBLIC_KEY", "")
WEBPUSH_VAPID_PRIVATE_KEY = env_str("WEBPUSH_VAPID_PRIVATE_KEY", "")
WEBPUSH_VAPID_SUBJECT = env_str("WEBPUSH_VAPID_SUBJECT", "mailto:admin@localhost")
WEBPUSH_TIMEOUT_SECONDS = env_int("WEBPUSH_TIMEOUT_SECONDS", 10)
# Push services are HTTPS; plain HTTP only for a local test push service.
WEBPUSH_ALLOW_HTTP = env_bool("WEBPUSH_ALLOW_HTTP", False)
# A tab that reported it shows a conversation counts as looking at it this
# long after its socket's process last rewrote the report.
VIEWING_TTL_SECONDS = env_int("VIEWING_TTL_SECONDS", 75)

# Content-Security-Policy (django-csp): our own scripts, styles and sockets
# only.  The templates have no inline script, style or event handler; the
# one HTML inserted from data is a message's nh3-sanitised body.  See
# docs/security.md.
CONTENT_SECURITY_POLICY = {
    # Swagger UI (drf-spectacular, for developers) inlines its start-up script
    # and styles; it shows the API schema, no one's content.
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Avatars and thumbnails are ours; previews of files being uploaded
        # are blob: URLs; uPlot and the admin use a few data: images.
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        # 'self' covers ws:// and wss:// to the same host (CSP level 3).
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "font-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Operations: probes, metrics, logs (see docs/operations.md).
HEALTH_CHECK_TIMEOUT_SECONDS = env_int("HEALTH_CHECK_TIMEOUT_SECONDS", 2)
# Prometheus scrapes /metrics with "Authorization: Bearer <token>"; staff can
# open it in a browser.  Empty: staff only.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
OPERATIONS_POLL_SECONDS = env_int("OPERATIONS_POLL_SECONDS", 2)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # LOG_FORMAT=json: one JSON object a line, with request_id / event_id
    # fields (messenger/logcontext.py).
    "filters": {"context": {"()": "messenger.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {
            "()": "messenger.logcontext.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_str("LOG_FORMAT", "plain"),
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "kafka": {"level": "WARNING"},
        "messenger.trace": {"level": env_str("LOG_TRACE_LEVEL", "INFO")},
    },
}
