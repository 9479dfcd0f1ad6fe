"""Test settings: the real settings module, with the variables a test run needs set."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="releasemgr-test-"))
# A file, not memory, so worker processes started by the tests share the test database.
os.environ.setdefault("SQLITE_FILE_TESTS", "1")
# The test client and the live servers speak plain http on loopback.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ENCRYPTION_KEYS", "x5Xh0JqfYfJ2zY1ywZ9bqC3mT7uWl0xk3n2u6l4q2mA=")

from releasemgr.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_ROOT = DATA_DIR / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
