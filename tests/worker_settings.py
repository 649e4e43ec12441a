"""Settings of the worker processes the crash tests start and kill (tests/test_worker_crash_pg.py).

The project's settings, with mail going to the test's SMTP server, pushes through
an adapter the test can hold, and webhooks allowed to the test's local receiver.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import CLAIMDESK

if os.environ.get("CLAIMDESK_TEST_SMTP_PORT"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": int(os.environ["CLAIMDESK_TEST_SMTP_PORT"]),
                "timeout": 60,
            },
        }
    }

CLAIMDESK = {
    **CLAIMDESK,
    "WEBHOOKS_ALLOW_PRIVATE": True,
    "WEBHOOK_TIMEOUT_SECONDS": 60,
    "PUSH_ADAPTER": "tests.worker_tasks.HeldPushAdapter",
}
