"""Settings for the test suite: real services, isolated names, fast hashing."""

import os
import uuid

from messenger.settings.base import *  # noqa: F403
from messenger.settings.environment import env_str

SECRET_KEY = "test-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACCOUNT_EMAIL_VERIFICATION = "none"
# Off for the suite: one address signs in many times; tests/accounts/
# test_account_safety.py turns them on.
ACCOUNT_RATE_LIMITS = False

# One run of the suite gets its own topics, channel-layer and cache prefixes so
# runs never see each other's events.  Child processes started by the tests
# inherit the run id through the environment.
TEST_RUN_ID = os.environ.setdefault("MESSENGER_TEST_RUN_ID", uuid.uuid4().hex[:10])
KAFKA_TOPIC_PREFIX = env_str("KAFKA_TOPIC_PREFIX", f"test-{TEST_RUN_ID}.")
KAFKA_TOPIC_PARTITIONS = 3
KAFKA_CONSUMER_GROUP = f"messenger-test-{TEST_RUN_ID}"
KAFKA_SESSION_TIMEOUT_MS = 6_000
# Each test creates its topics just before subscribing; a consumer that saw
# them without partitions must look again soon, not in a minute.
KAFKA_METADATA_MAX_AGE_MS = 1_000
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"test-{TEST_RUN_ID}"}}  # noqa: F405
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": CHANNEL_LAYERS["default"]["BACKEND"],  # noqa: F405
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"test-{TEST_RUN_ID}"},  # noqa: F405
    }
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
MESSAGE_RATE_LIMIT = 1000
PRESENCE_GRACE_SECONDS = 0
# Threads of async tests (database_sync_to_async) then close their
# connections after each call, so the test database can be dropped.
DATABASES = {"default": {**DATABASES["default"], "CONN_MAX_AGE": 0}}  # noqa: F405
# Serve static files straight from the source folders: no collectstatic step.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The push tests stand up a local push service on plain HTTP.
WEBPUSH_ALLOW_HTTP = True
