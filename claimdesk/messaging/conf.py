"""The messaging settings, each with a default when `settings.CLAIMDESK` leaves it out.

NOTE_ATTACHMENT_MAX_BYTES  4 MB: all files of one note together
NOTE_ATTACHMENT_ROOT       MEDIA_ROOT/private (ignored when STORAGES has "note_attachments")
TRANSLATOR                 dotted path of the translator adapter (built-in by default)
TRANSLATOR_URL / _KEY      the external service of HttpTranslator
TRANSLATOR_TIMEOUT         seconds, 10
PUSH_ADAPTER               dotted path of the push adapter (recording one by default)
CUSTOMER_CENTER_EMAIL      where "also by mail" notes to the customer center go ("" = none)
WEBHOOKS_ALLOW_PRIVATE     False: webhooks go only to public addresses (True for tests, demos)
WEBHOOK_TIMEOUT_SECONDS    10: how long one POST may take
WEBHOOK_MAX_ATTEMPTS       8: attempts before a delivery is marked failed
WEBHOOK_RETRY_BASE_SECONDS 30: the pause before the first retry, doubled for each next one
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "NOTE_ATTACHMENT_MAX_BYTES": 4 * 1024 * 1024,
    "NOTE_ATTACHMENT_ROOT": "",
    "TRANSLATOR": "claimdesk.messaging.translation.BuiltinTranslator",
    "TRANSLATOR_URL": "",
    "TRANSLATOR_KEY": "",
    "TRANSLATOR_TIMEOUT": 10,
    "PUSH_ADAPTER": "claimdesk.messaging.push.RecordingPushAdapter",
    "CUSTOMER_CENTER_EMAIL": "",
    "WEBHOOKS_ALLOW_PRIVATE": False,
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_MAX_ATTEMPTS": 8,
    "WEBHOOK_RETRY_BASE_SECONDS": 30,
}


def option(name: str) -> Any:
    """Return `settings.CLAIMDESK[name]`, or the messaging default, read at call time."""
    return settings.CLAIMDESK.get(name, DEFAULTS[name])
