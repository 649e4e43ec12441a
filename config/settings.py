"""Settings for claimdesk, read from the environment.

`DATABASE_URL` selects the database (SQLite under var/ by default). Every
claimdesk-specific knob lives in the `CLAIMDESK` dict so that tests can
override one threshold with `override_settings`.
"""

import datetime as dt
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLAIMDESK_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _payment_gateway(name: str) -> str:
    gateways = {
        "": "claimdesk.payments.gateways.SimulatedCardGateway",
        "simulated": "claimdesk.payments.gateways.SimulatedCardGateway",
        "stripe": "claimdesk.payments.stripe_gateway.StripeGateway",
    }
    if name.strip() in gateways:
        return gateways[name.strip()]
    if "." not in name:
        raise ImproperlyConfigured(
            f"CLAIMDESK_PAYMENT_GATEWAY={name!r}: use simulated, stripe or a dotted class path"
        )
    return name.strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
# Off unless asked for (`make demo` asks): a deployment that forgets the variable
# shows no tracebacks and no URL list.
DEBUG = _env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [
    h
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "django_htmx",
    "ninja",  # the API docs page from its own static files, not a CDN with an inline script
    "claimdesk.core",
    "claimdesk.accounts",
    "claimdesk.orders",
    "claimdesk.payments",
    "claimdesk.claims",
    "claimdesk.messaging",
    "claimdesk.inquiries",
    "claimdesk.intake",
    "claimdesk.demo",
    "claimdesk.ops",
    "claimdesk.portals",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "claimdesk.portals.oidc.csp.PortalCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "claimdesk.portals.common.UserPreferencesMiddleware",
    "claimdesk.portals.common.DomainErrorMiddleware",
    # Last: turns a sign-in refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

LOGIN_URL = "seller:login"

# Content-Security-Policy: scripts, styles and everything else only from this site;
# no inline script, no eval, no plugin, no framing. The portals' scripts are static
# files (portals/static/portals/*.js) and htmx runs with allowEval off.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # The hot row partials of the seller lists (claimdesk/portals/jinja.py says why).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "claimdesk" / "portals" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "claimdesk.portals.jinja.environment",
            "autoescape": True,
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'claimdesk.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    # Parameters travel apart from the SQL (server-side binding: no quoting in Python).
    _pg_options.setdefault("server_side_binding", True)
    # JIT compiles a plan for every query estimated as expensive: hundreds of
    # milliseconds spent on the shop-record counts that run in ten (docs/benchmarks/pages.md).
    _options = "-c jit=off"
    if os.environ.get("DATABASE_PREPARED_STATEMENTS", "0") == "1":
        # Opt-in (docs/deployment.md): a statement a connection runs for the fifth
        # time stays prepared on the server. Each is still planned for its own values:
        # a plan made once for any shop and period reads the big shop's claims by the
        # wrong index. A column type changed by a migration breaks the statements
        # prepared on open connections until they reconnect.
        _options += " -c plan_cache_mode=force_custom_plan"
        _pg_options.setdefault("prepare_threshold", 5)
    _pg_options.setdefault("options", _options)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # BEGIN IMMEDIATE serialises writers up front, so two concurrent services
    # never both read an old state and then fail half-way through a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
    # A file, not the shared-cache in-memory database, so that test threads
    # wait for each other's write locks the way real processes do.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"claimdesk-test-{os.getpid()}.sqlite3")
    }

# Shared by every process (API rate limits): a database table by default (created by
# `manage.py createcachetable`; the test runner creates it itself), Redis when
# CLAIMDESK_REDIS_URL is set.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CLAIMDESK_REDIS_URL"],
        }
        if os.environ.get("CLAIMDESK_REDIS_URL")
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "claimdesk_cache",
        }
    )
}

# Several app servers read each other's sessions: from the database by default, through
# Redis (still written to the database) when CLAIMDESK_REDIS_URL is set.
if os.environ.get("CLAIMDESK_REDIS_URL"):
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses a sign-in while its login and address are locked out (django-axes).
    "claimdesk.portals.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Sign-in through the marketplace's OpenID Connect provider (docs/signin.md).
    "claimdesk.portals.oidc.backend.PortalOIDCBackend",
]

# Sign-in throttling (django-axes) for the portals, the console and /admin/login/:
# 5 failures for one login from one address lock it out for 15 minutes, even with
# the right password. Failures are counted in the database (row lock and F() + 1),
# so parallel guesses are all counted on every deployment. Behind a proxy, tell
# axes the client's address: AXES_CLIENT_IP_CALLABLE (docs/deployment.md).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "claimdesk.portals.throttle.lockout_response"
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"

# Uploaded files (note, return-photo and inquiry attachments): under MEDIA_ROOT on one
# machine; in an S3-compatible bucket that every app server and worker shares when
# CLAIMDESK_S3_BUCKET is set (AWS S3, MinIO, R2, ...: docs/deployment.md). Credentials
# come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the machine's role.
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("CLAIMDESK_S3_BUCKET"):
    _s3_options = {
        "bucket_name": os.environ["CLAIMDESK_S3_BUCKET"],
        "endpoint_url": os.environ.get("CLAIMDESK_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("CLAIMDESK_S3_REGION") or None,
        "default_acl": None,  # private objects: files are served only after access checks
        "querystring_auth": True,
        "file_overwrite": False,
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3_options, "location": "media"},
    }
    # Read by claimdesk/messaging/storage.py for every attachment.
    STORAGES["note_attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3_options, "location": "private"},
    }

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "mail", "refunds"],
    }
}

# Mail: a file folder under var/mail by default (demo); SMTP when MAIL_SMTP_HOST is set.
if os.environ.get("MAIL_SMTP_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["MAIL_SMTP_HOST"],
                "port": int(os.environ.get("MAIL_SMTP_PORT", "25")),
                "username": os.environ.get("MAIL_SMTP_USER", ""),
                "password": os.environ.get("MAIL_SMTP_PASSWORD", ""),
                "use_tls": _env_bool("MAIL_SMTP_STARTTLS", False),
                "timeout": 30,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "claimdesk <no-reply@claimdesk.example>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per task state and per idle poll drowns everything else; a failed
        # task is still logged (at ERROR). TASK_LOG_LEVEL=INFO shows them all.
        "django.tasks": {"level": os.environ.get("TASK_LOG_LEVEL", "WARNING")},
        "django_tasks_db": {"level": os.environ.get("TASK_LOG_LEVEL", "WARNING")},
    },
}

CLAIMDESK = {
    # Money
    "DEFAULT_CURRENCY": "JPY",
    "COMMISSION_RATE_BP": 1000,  # platform commission in basis points of the settle base
    "RETURN_SHIPPING_DEDUCTION_CAP_MINOR": 1500,
    # Payment gateway adapter (dotted path to a class implementing PaymentGateway), chosen
    # by CLAIMDESK_PAYMENT_GATEWAY: "simulated" (the default), "stripe" or a dotted path
    # (docs/payments.md, docs/deployment.md "Payments with Stripe").
    "PAYMENT_GATEWAY": _payment_gateway(os.environ.get("CLAIMDESK_PAYMENT_GATEWAY", "")),
    "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
    "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
    "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),  # empty: Stripe's own API
    "STRIPE_TIMEOUT_SECONDS": float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "30")),
    "STRIPE_WEBHOOK_TOLERANCE_SECONDS": 300,  # how old a signed notification may be
    "REFUND_MAX_AUTO_RETRIES": 3,
    "REFUND_RETRY_BASE_SECONDS": 60,
    "REFUND_STALE_PENDING_SECONDS": 300,
    # Timers (SPEC section 9)
    "PAYMENT_DEADLINE_DAYS": 3,
    "DELAY_REMINDER_BUSINESS_DAY": 3,
    "DELAY_POINTS_BUSINESS_DAY": 4,
    "DELAY_POINTS": 2,
    "RESTRICTION_BUSINESS_DAY": 5,
    "RESTRICTION_SHIP_RATE_PERCENT": 95,
    "RESTRICTION_DAYS": 30,
    "SHIP_RATE_PERIOD_DAYS": 30,  # window of the ship rate the restriction rule reads
    "AUTO_COMPLETE_DAYS_AFTER_DELIVERY": 14,
    "RETURN_WINDOW_DAYS": 7,
    "CLAIM_RESPONSE_BUSINESS_DAYS": 3,
    "CLAIM_ESCALATE_BUSINESS_DAYS": 5,
    "LATE_BUYER_CANCEL_HOURS": 6,
    "SWEEP_INTERVAL_SECONDS": 60,
    # A task RUNNING this long on another host's worker is taken to be lost with it
    # and runs again (a worker of this host that died is noticed at once).
    "TASK_STALE_SECONDS": 600,
    # A mail or webhook claimed this long ago by a worker of another host is sent again.
    "CLAIM_STALE_SECONDS": 120,
    "SWEEP_ROWS_PER_STEP": 500,  # rows one timer handles in one sweep; the next sweep goes on
    "MEMO_MAX_CHARS": 1000,
    # Machine interfaces (docs/api.md, docs/qapi.md)
    "API_RATE_LIMIT_PER_MINUTE": 600,  # per token, counted in the default cache
    "QAPI_KEY_DAYS": 365,  # lifetime of a QAPI seller key
    "WEBHOOK_MAX_ATTEMPTS": 8,
    "WEBHOOK_RETRY_BASE_SECONDS": 30,  # doubled after each failed attempt
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOKS_ALLOW_PRIVATE": _env_bool("CLAIMDESK_WEBHOOKS_ALLOW_PRIVATE", False),
    # The note dialog's translator (docs/deployment.md "Translation of notes")
    "TRANSLATOR": {
        "libretranslate": "claimdesk.messaging.translation.LibreTranslateTranslator",
        "deepl": "claimdesk.messaging.translation.DeepLTranslator",
    }.get(
        os.environ.get("CLAIMDESK_TRANSLATOR", ""),
        "claimdesk.messaging.translation.BuiltinTranslator",
    ),
    "TRANSLATOR_URL": os.environ.get("CLAIMDESK_TRANSLATOR_URL", ""),
    "TRANSLATOR_KEY": os.environ.get("CLAIMDESK_TRANSLATOR_KEY", ""),
}

# Sign-in with the marketplace's OpenID Connect provider (docs/signin.md): on when an
# issuer and a client id are set; local passwords keep working alongside.
CLAIMDESK_OIDC = {
    "ISSUER": os.environ.get("CLAIMDESK_OIDC_ISSUER", ""),
    "CLIENT_ID": os.environ.get("CLAIMDESK_OIDC_CLIENT_ID", ""),
    "CLIENT_SECRET": os.environ.get("CLAIMDESK_OIDC_CLIENT_SECRET", ""),
    # client_secret_basic ("basic") or client_secret_post ("post") at the token endpoint
    "TOKEN_AUTH": os.environ.get("CLAIMDESK_OIDC_TOKEN_AUTH", "basic"),
    "SCOPES": os.environ.get("CLAIMDESK_OIDC_SCOPES", "openid"),
    "PROVIDER_NAME": os.environ.get("CLAIMDESK_OIDC_PROVIDER_NAME", ""),
    # The claim holding the marketplace's id of the person (users' external_id).
    "SUBJECT_CLAIM": os.environ.get("CLAIMDESK_OIDC_SUBJECT_CLAIM", "sub"),
    # Optional: a claim holding the marketplace's id of a staff member's shop.
    "SHOP_CLAIM": os.environ.get("CLAIMDESK_OIDC_SHOP_CLAIM", ""),
    "PORTALS": os.environ.get("CLAIMDESK_OIDC_PORTALS", "buyer,seller,operator"),
    "SIGN_ALGO": os.environ.get("CLAIMDESK_OIDC_SIGN_ALGO", "RS256"),
    "TIMEOUT_SECONDS": float(os.environ.get("CLAIMDESK_OIDC_TIMEOUT_SECONDS", "10")),
    "CLOCK_SKEW_SECONDS": int(os.environ.get("CLAIMDESK_OIDC_CLOCK_SKEW_SECONDS", "60")),
    # Endpoints are read from the issuer's discovery document; set these only for a
    # provider without one (or to override it).
    "AUTHORIZATION_ENDPOINT": os.environ.get("CLAIMDESK_OIDC_AUTHORIZATION_ENDPOINT", ""),
    "TOKEN_ENDPOINT": os.environ.get("CLAIMDESK_OIDC_TOKEN_ENDPOINT", ""),
    "USERINFO_ENDPOINT": os.environ.get("CLAIMDESK_OIDC_USERINFO_ENDPOINT", ""),
    "JWKS_URI": os.environ.get("CLAIMDESK_OIDC_JWKS_URI", ""),
    "END_SESSION_ENDPOINT": os.environ.get("CLAIMDESK_OIDC_END_SESSION_ENDPOINT", ""),
}
