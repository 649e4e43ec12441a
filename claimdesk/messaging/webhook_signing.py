"""Webhook signatures, the Standard Webhooks way (https://www.standardwebhooks.com).

Each POST carries three headers:

    webhook-id: evt_…           the event id, the same on every retry of a delivery
    webhook-timestamp: 1767225600   when this attempt was signed, in Unix seconds
    webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>

so that a receiver verifies it with any Standard Webhooks library and the
endpoint's secret, and recognises a repeat by its id.

The key: a secret of `whsec_` and padded standard base64 (what claimdesk
makes) is the bytes that base64 encodes, as every Standard Webhooks library
reads it. Any other secret (one a shop chose, or one in the URL-safe base64
alphabet) is used as its UTF-8 bytes, which the libraries take as a "raw" key.

For one more release each POST also carries the former `X-Claimdesk-Signature`
(`t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the whole
secret as the key) and `X-Claimdesk-Timestamp`, so that a receiver checking
them keeps working while it moves to the standard headers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets

from standardwebhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
#: The former signature header, still sent for one release; then removed.
LEGACY_SIGNATURE_HEADER = "X-Claimdesk-Signature"
LEGACY_TIMESTAMP_HEADER = "X-Claimdesk-Timestamp"

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of a secret, not a secret
#: `whsec_` and padded standard base64: a secret every Standard Webhooks library decodes alike.
_STANDARD_SECRET = re.compile(
    r"whsec_(?=.)(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
)


def new_secret() -> str:
    """Return a fresh secret: `whsec_` and the standard base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signing_key(secret: str) -> bytes:
    """Return the HMAC key of `secret`: its base64 bytes if it is `whsec_` + base64, else UTF-8."""
    if _STANDARD_SECRET.fullmatch(secret):
        try:
            return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:  # pragma: no cover - the pattern admits only valid base64
            pass
    return secret.encode()


def signature_headers(
    secret: str, *, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Return the headers that sign `body` as message `message_id`, sent at `timestamp`."""
    signed_at = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: Webhook(signing_key(secret)).sign(message_id, signed_at, body),
        LEGACY_TIMESTAMP_HEADER: str(timestamp),
        LEGACY_SIGNATURE_HEADER: legacy_signature(secret, timestamp, body),
    }


def legacy_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the former `X-Claimdesk-Signature` value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
