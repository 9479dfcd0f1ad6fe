"""Settings for releasemgr: one module, driven by environment variables (see README).

Defaults give a working single machine (SQLite, the django-q2 ORM broker, bare
repositories under DATA_DIR); DATABASE_URL and REDIS_URL scale it out.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from releasemgr.env import (
    env_bool,
    env_email,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = env_path("DATA_DIR", BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite, the cache and repositories live here
REPOSITORIES_DIR = DATA_DIR / "repositories"
ARTIFACTS_DIR = DATA_DIR / "artifacts"

# Stored secrets (org passwords, tokens, private keys) are encrypted with these Fernet keys.
# The first key encrypts; all of them decrypt, so a key can be rotated by prepending a new one.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS", [])
# The key file is a development convenience, generated with DEBUG on: production never falls
# back to it, even when one is lying in DATA_DIR (it may have come from a development copy).
ENCRYPTION_KEY_FILE = DATA_DIR / "encryption.key"
if not DEBUG and not ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "ENCRYPTION_KEYS is required when DEBUG is off (DATA_DIR/encryption.key is only used "
        "with DEBUG); generate one with `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_q",
    "csp",
    "ninja",
    "releasemgr",
    "branching",
    "instances",
    "instances.notifications",
    "instances.hooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "releasemgr.middleware.RefuseNulMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "releasemgr.roles.RoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "releasemgr.urls"
WSGI_APPLICATION = "releasemgr.wsgi.application"

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
                "releasemgr.roles.roles",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(env_path("SQLITE_PATH", DATA_DIR / "releasemgr.sqlite3")),
            "OPTIONS": {
                # The web server and the task worker share one file: WAL lets readers go on
                # while one writer writes, IMMEDIATE takes the write lock at BEGIN (so a
                # transaction never fails half-way on an upgrade), and the timeout waits for it.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")}
            if env_bool("SQLITE_FILE_TESTS")
            else {},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # A file cache is shared by the web server and the worker (a local-memory cache is not),
    # which the task cluster's health statistics and the diagram cache both rely on.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# A promotion's task waits for up to two deployments (a validation, then its quick deploy), so
# the cluster must let a task live longer than that: Q_TIMEOUT follows DEPLOY_TIMEOUT_SECONDS
# unless it is set, and one too short is refused at start-up (releasemgr/checks.py).
DEPLOY_TIMEOUT_SECONDS = env_int("DEPLOY_TIMEOUT_SECONDS", 3 * 3600)
TASK_MARGIN_SECONDS = 900  # the work around the waits: fetch, merge, build the package, push
Q_TIMEOUT = env_int("Q_TIMEOUT", 2 * DEPLOY_TIMEOUT_SECONDS + TASK_MARGIN_SECONDS)

Q_CLUSTER = {
    "name": "releasemgr",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 60,
    "max_attempts": 1,
    "catch_up": False,
    "label": "Tasks",
    "save_limit": 1000,
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed file names need `collectstatic`; development and tests skip it.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

GRAPHVIZ_DOT = env_str("GRAPHVIZ_DOT", "dot")

# How workers reach remote git servers: an ssh key and the host keys to trust (ssh never
# prompts), and extra certificate authorities for https remotes (verification stays on).
GIT_SSH_KEY_FILE = env_str("GIT_SSH_KEY_FILE")
GIT_SSH_KNOWN_HOSTS = env_str("GIT_SSH_KNOWN_HOSTS")
GIT_CA_BUNDLE = env_str("GIT_CA_BUNDLE")
# Where git may connect (branching/git/transport.py): file:// and local paths only under
# GIT_LOCAL_ROOT (unset: never), http:// and git:// only when allowed, and never a loopback,
# private or link-local address unless allowed (checked on the addresses actually used).
GIT_LOCAL_ROOT = env_str("GIT_LOCAL_ROOT")
GIT_ALLOW_INSECURE_TRANSPORTS = env_bool("GIT_ALLOW_INSECURE_TRANSPORTS", False)
GIT_ALLOW_PRIVATE_ADDRESSES = env_bool("GIT_ALLOW_PRIVATE_ADDRESSES", False)
# Every network operation (git over any transport, Salesforce calls) gives up connecting after
# NETWORK_CONNECT_TIMEOUT seconds, and waiting for an answer after NETWORK_READ_TIMEOUT.
NETWORK_CONNECT_TIMEOUT = env_float("NETWORK_CONNECT_TIMEOUT", 10.0)
NETWORK_READ_TIMEOUT = env_float("NETWORK_READ_TIMEOUT", 120.0)

# Salesforce: extra certificate authorities (PEM) for org hosts (verification is always on),
# and how often a deployment's status is polled (how long it may take: see Q_CLUSTER).
SALESFORCE_CA_BUNDLE = env_str("SALESFORCE_CA_BUNDLE")
# Org connections reach Salesforce's own domains only (instances/salesforce/hosts.py); these
# exact host names are allowed besides (a proxy in front of Salesforce, a test stand-in).
SALESFORCE_EXTRA_HOSTS = env_list("SALESFORCE_EXTRA_HOSTS", [])
# The demo's simulated org (instances/salesforce/simulation/demo.py; `make run` turns it on):
# `serve` runs it on 127.0.0.1:DEMO_SIMULATED_ORG_PORT, and org connections may reach it, with
# its CA trusted beside certifi's. Only with DEBUG: the system check releasemgr.E002.
DEMO_SIMULATED_ORG = env_bool("DEMO_SIMULATED_ORG", False)
DEMO_SIMULATED_ORG_PORT = env_int("DEMO_SIMULATED_ORG_PORT", 8443)
if DEMO_SIMULATED_ORG:
    SALESFORCE_EXTRA_HOSTS = [*SALESFORCE_EXTRA_HOSTS, "127.0.0.1"]
    SALESFORCE_CA_BUNDLE = SALESFORCE_CA_BUNDLE or str(DATA_DIR / "simulated-org" / "ca-bundle.pem")
DEPLOY_POLL_SECONDS = env_float("DEPLOY_POLL_SECONDS", 2.0 if DEMO_SIMULATED_ORG else 10.0)

# A worker renews its claim on a promotion at every step; a claim older than this means the
# worker died, and another one resumes the promotion after its last recorded step.
PROMOTION_LEASE_SECONDS = env_int("PROMOTION_LEASE_SECONDS", 300)
# Seconds to pause after each promotion step: slows promotions down for demos and for tests
# that need to catch a promotion half-way. 0 in production.
PROMOTION_STEP_PAUSE = env_float("PROMOTION_STEP_PAUSE", 0.0)

# Notifications: where links in messages point, how email leaves (EMAIL_URL, see env_email),
# and what outgoing webhooks may reach. Webhook URLs are user input: https only, and no
# loopback, private or link-local address, unless these settings say otherwise.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_EMAIL = env_email("EMAIL_URL", "console:")
EMAIL_BACKEND = _EMAIL.backend
EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT = _EMAIL.host, _EMAIL.port, _EMAIL.timeout
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _EMAIL.user, _EMAIL.password
EMAIL_USE_TLS, EMAIL_USE_SSL = _EMAIL.use_tls, _EMAIL.use_ssl
DEFAULT_FROM_EMAIL = _EMAIL.sender or env_str("DEFAULT_FROM_EMAIL", "releasemgr@localhost")
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_CA_BUNDLE = env_str("WEBHOOK_CA_BUNDLE")
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5)
NOTIFY_RETRY_SECONDS = env_float("NOTIFY_RETRY_SECONDS", 60.0)
# Inbound webhooks from git hosts: the largest delivery read (GitHub's own limit is 25 MB).
HOOK_MAX_BODY_BYTES = env_int("HOOK_MAX_BODY_BYTES", 25 * 1024 * 1024)
# git over HTTP: the largest push accepted (the pack is streamed to disk, never held in memory).
GIT_PUSH_MAX_BYTES = env_int("GIT_PUSH_MAX_BYTES", 512 * 1024 * 1024)
# Housekeeping prunes unreachable git objects older than this (git's gc.pruneExpire: 2 weeks).
GIT_PRUNE_AFTER_DAYS = env_float("GIT_PRUNE_AFTER_DAYS", 14.0)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS only when DEBUG is off: redirect plain http, and tell browsers to remember it (HSTS).
# /healthz stays reachable over plain http for load balancers that probe the node directly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto (and X-Forwarded-For, for login throttling) only when a proxy that
# sets them (and strips the client's) is in front: otherwise any client could claim to be on
# HTTPS, or to come from any address.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts and styles from our own static files only, no
# inline script, no eval (htmx is configured not to need it: templates/base.html). Style
# attributes stay allowed (bar widths, tree indents); they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}

# Login throttling (releasemgr/throttle.py): after this many failed logins for one username,
# or from one address, within the window, both are refused until the window has passed.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_ADDRESS_LIMIT = env_int("LOGIN_FAILURE_ADDRESS_LIMIT", 20)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)

# API rate limits (instances/api/limits.py): requests a minute per personal access token and
# per client address; over the limit the API answers 429 with Retry-After. 0 turns one off.
API_RATE_PER_TOKEN = env_int("API_RATE_PER_TOKEN", 600)
API_RATE_PER_ADDRESS = env_int("API_RATE_PER_ADDRESS", 1200)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
