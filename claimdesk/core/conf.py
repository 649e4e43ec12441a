"""Read claimdesk settings at call time, never at import time."""

from typing import Any

from django.conf import settings


def setting(name: str) -> Any:
    """Return the claimdesk setting `name` from `settings.CLAIMDESK`."""
    return settings.CLAIMDESK[name]
