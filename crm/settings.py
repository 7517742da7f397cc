"""Postino settings. Everything that varies comes from the environment (see .env.example).

With no environment at all the project runs embedded: SQLite and a filesystem Celery broker
under var/, and generated keys written there once.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from django.utils.translation import gettext_lazy as _

from crm.env import env_bool, env_int, env_list, env_str, generated_secret, random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("POSTINO_VAR_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_str("DJANGO_SECRET_KEY") or generated_secret(VAR_DIR / "secret_key", random_secret_key)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Comma-separated Fernet keys, newest first. The embedded default generates one under var/.
MAIL_ENCRYPTION_KEYS = env_list("MAIL_ENCRYPTION_KEYS") or [
    generated_secret(VAR_DIR / "mail_encryption_key", lambda: Fernet.generate_key().decode())
]
MAIL_ALLOW_PRIVATE_HOSTS = env_bool("MAIL_ALLOW_PRIVATE_HOSTS", False)
MAIL_CONNECT_TIMEOUT = env_int("MAIL_CONNECT_TIMEOUT", 15, minimum=1)
MAIL_TLS_CA_FILE = env_str("MAIL_TLS_CA_FILE")  # extra CA bundle for company servers with a private CA

# OAuth2 sign-in (messages_app/oauth/): client ids and secrets come from the environment, never
# from users; a provider without both is not offered. The endpoints default to Google's and
# Microsoft's and can be overridden (tests, sovereign clouds such as login.microsoftonline.us).
OAUTH_GOOGLE_CLIENT_ID = env_str("OAUTH_GOOGLE_CLIENT_ID")
OAUTH_GOOGLE_CLIENT_SECRET = env_str("OAUTH_GOOGLE_CLIENT_SECRET")
OAUTH_GOOGLE_AUTH_URI = env_str("OAUTH_GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
OAUTH_GOOGLE_TOKEN_URI = env_str("OAUTH_GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
OAUTH_MICROSOFT_CLIENT_ID = env_str("OAUTH_MICROSOFT_CLIENT_ID")
OAUTH_MICROSOFT_CLIENT_SECRET = env_str("OAUTH_MICROSOFT_CLIENT_SECRET")
OAUTH_MICROSOFT_AUTHORITY = env_str("OAUTH_MICROSOFT_AUTHORITY", "https://login.microsoftonline.com/common")
OAUTH_CA_FILE = env_str("OAUTH_CA_FILE")  # CA bundle for an identity provider with a private CA


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


OAUTH_FORM_ACTION_ORIGINS = sorted(
    ({_origin(OAUTH_GOOGLE_AUTH_URI)} if OAUTH_GOOGLE_CLIENT_ID else set())
    | ({_origin(OAUTH_MICROSOFT_AUTHORITY)} if OAUTH_MICROSOFT_CLIENT_ID else set()))
# An access token this close to its expiry is refreshed before use.
OAUTH_REFRESH_MARGIN_SECONDS = env_int("OAUTH_REFRESH_MARGIN_SECONDS", 300, minimum=0)
MAIL_CONNECTION_TESTS_PER_HOUR = env_int("MAIL_CONNECTION_TESTS_PER_HOUR", 30, minimum=1)
MAIL_SYNC_INTERVAL_SECONDS = env_int("MAIL_SYNC_INTERVAL_SECONDS", 120, minimum=10)
# Accounts on push (held by a live IDLE listener) get a pass over all their folders this often;
# beat skips them in between. An account whose server is down waits MAIL_SYNC_INTERVAL_SECONDS,
# doubling after each failed pass up to MAIL_SYNC_BACKOFF_MAX_SECONDS.
MAIL_SYNC_PUSH_INTERVAL_SECONDS = env_int("MAIL_SYNC_PUSH_INTERVAL_SECONDS", 1800, minimum=10)
MAIL_SYNC_BACKOFF_MAX_SECONDS = env_int("MAIL_SYNC_BACKOFF_MAX_SECONDS", 3600, minimum=10)
MAIL_SYNC_ON_SAVE = env_bool("MAIL_SYNC_ON_SAVE", True)  # queue the first sync when an account is saved
MAIL_PREFETCH_BODIES = env_bool("MAIL_PREFETCH_BODIES", True)  # fetch bodies of new mail for search
MAIL_UNREAD_POLL_SECONDS = env_int("MAIL_UNREAD_POLL_SECONDS", 30, minimum=1)  # folder-tree count refresh
MAIL_LIVE_POLL_SECONDS = env_int("MAIL_LIVE_POLL_SECONDS", 2, minimum=1)  # open list: new mail and flag changes
MAIL_SYNC_LOCK_SECONDS = env_int("MAIL_SYNC_LOCK_SECONDS", 60, minimum=10)
# IMAP IDLE listeners (`mail_idle`): any number share the accounts by leases in the database.
# A listener renews its leases every MAIL_IDLE_RENEW_SECONDS; a dead one's accounts lapse after
# MAIL_IDLE_LEASE_SECONDS and the others take them over at their next renewal.
MAIL_IDLE_MAX_ACCOUNTS = env_int("MAIL_IDLE_MAX_ACCOUNTS", 1000, minimum=1)  # accounts one listener holds at most
MAIL_IDLE_LEASE_SECONDS = env_int("MAIL_IDLE_LEASE_SECONDS", 45, minimum=2)
MAIL_IDLE_RENEW_SECONDS = env_int("MAIL_IDLE_RENEW_SECONDS", 15, minimum=1)
# Database connections one listener opens at most, whatever the number of accounts it holds.
MAIL_IDLE_DB_CONNECTIONS = env_int("MAIL_IDLE_DB_CONNECTIONS", 10, minimum=3)
MAIL_UNDO_SEND_SECONDS = env_int("MAIL_UNDO_SEND_SECONDS", 10, minimum=0)  # after Send: time to take it back
MAIL_MAX_ATTACHMENT_MB = env_int("MAIL_MAX_ATTACHMENT_MB", 25, minimum=1)  # attachments of one message, in total
# Overall deadlines (seconds): MAIL_CONNECT_TIMEOUT is per read, and a server sending a byte every
# few seconds never trips it. A connection test must end well before the web worker's timeout.
# Per server: IMAP and SMTP together stay under gunicorn's 30 s worker timeout.
MAIL_CONNECTION_TEST_SECONDS = env_int("MAIL_CONNECTION_TEST_SECONDS", 12, minimum=1)
MAIL_SYNC_PASS_SECONDS = env_int("MAIL_SYNC_PASS_SECONDS", 1800, minimum=10)
MAIL_MAX_LITERAL_BYTES = env_int("MAIL_MAX_LITERAL_BYTES", 64 * 1024 * 1024, minimum=1024)  # one message, refused above
MAIL_MAX_FOLDERS = env_int("MAIL_MAX_FOLDERS", 1000, minimum=1)  # folders mirrored per account; the rest are skipped
# Kept IMAP connections per process (services/imap_pool.py): per account at most this many (a
# caller beyond waits), idle ones closed after IDLE_SECONDS (0: none kept), NOOP-checked after
# CHECK_SECONDS of silence, and at most MAX_IDLE idle ones in all.
MAIL_IMAP_POOL_SIZE = env_int("MAIL_IMAP_POOL_SIZE", 2, minimum=1)
MAIL_IMAP_POOL_IDLE_SECONDS = env_int("MAIL_IMAP_POOL_IDLE_SECONDS", 60, minimum=0)
MAIL_IMAP_POOL_CHECK_SECONDS = env_int("MAIL_IMAP_POOL_CHECK_SECONDS", 20, minimum=0)
MAIL_IMAP_POOL_MAX_IDLE = env_int("MAIL_IMAP_POOL_MAX_IDLE", 50, minimum=1)
MAIL_PEC_TRUST_FILE = env_str("MAIL_PEC_TRUST_FILE")  # PEM file of the PEC providers' certificates (the AgID list)
# CRM links (issue 11): free-mail and provider domains never link mail to a company by domain
# (shell patterns); a match less sure than the threshold waits in "Da collegare" instead of linking.
CRM_FREE_MAIL_DOMAINS = env_list("CRM_FREE_MAIL_DOMAINS", [
    "gmail.com", "googlemail.com", "outlook.*", "hotmail.*", "live.*", "msn.com", "yahoo.*", "ymail.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "gmx.*", "web.de", "proton.me", "protonmail.com",
    "libero.it", "tiscali.it", "virgilio.it", "alice.it", "tin.it", "fastwebnet.it", "email.it", "inwind.it",
    "iol.it", "katamail.com", "pec.it", "legalmail.it", "postacert.it", "pec.aruba.it", "arubapec.it",
    "aruba.it", "register.it", "postecert.it", "cert.legalmail.it",
])
CRM_LINK_THRESHOLD = env_int("CRM_LINK_THRESHOLD", 70, minimum=0)  # confidence 0-100 needed to link
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)  # wrong passwords before a lockout
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "crm",
    "accounts",
    "messages_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# Login throttle (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address, every sign-in of that pair is refused, the right password too, for LOGIN_LOCKOUT_MINUTES.
# The pair, not the address alone, so users behind one proxy do not lock each other out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "postino.sqlite3",
            # WAL and a busy timeout let the web process and the worker write side by side;
            # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            # A file, not :memory:, so tests can run worker processes against the test database;
            # one per test run, so parallel runs do not share it.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/messages/"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # the message body view alone allows its own origin (the reading pane frames it)

# One switch for a deployment served over HTTPS (README, "Serving over HTTPS"): secure cookies, HSTS,
# and plain HTTP redirected. `manage.py check --deploy` is clean with it on. Behind a proxy that
# ends TLS, the proxy must send X-Forwarded-Proto and gunicorn trust it (FORWARDED_ALLOW_IPS).
# DJANGO_SECURE_COOKIES is the older name of the same switch.
HTTPS = env_bool("DJANGO_HTTPS", env_bool("DJANGO_SECURE_COOKIES", False))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600, minimum=0) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS

# Content-Security-Policy on every page (django-csp): scripts only from our own static files, never
# inline. Responses that set their own policy keep it (the message body's frame is stricter).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # The Connect buttons post to us and we redirect to the provider's authorization page:
        # browsers check form-action on that redirect too.
        "form-action": ["'self'", *OAUTH_FORM_ACTION_ORIGINS],
        "frame-ancestors": ["'self'"],
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "postino_cache",
    }
}

# Celery: Redis when configured, otherwise kombu's filesystem transport under var/.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables too, or kombu writes them to ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
# A task that outlives its sync pass's deadline is stuck: soft limit first (it can clean up), then the kill.
CELERY_TASK_SOFT_TIME_LIMIT = MAIL_SYNC_PASS_SECONDS + 60
CELERY_TASK_TIME_LIMIT = MAIL_SYNC_PASS_SECONDS + 120
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The DEBUG error page hides passwords too (crm/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "crm.debug.AlwaysSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes logs every start and every successful sign-in at INFO; its lockouts are WARNINGs.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
