"""Push messages to registered devices, through an adapter chosen by settings.

`CLAIMDESK["PUSH_ADAPTER"]` names the adapter class (dotted path). The
built-in `RecordingPushAdapter` delivers nothing to a phone: it records each
push in `RecordingPushAdapter.outbox` (like Django's locmem mail outbox), which
is what development and tests need. A real adapter (FCM, APNs) implements
`send()` and raises `PushError` when the provider refuses a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from django.utils.module_loading import import_string

from .conf import option


class PushError(Exception):
    """The provider refused or could not take the message."""


@dataclass(frozen=True)
class PushMessage:
    token: str
    platform: str
    title: str
    body: str
    data: dict[str, Any]


class PushAdapter(Protocol):
    def send(self, message: PushMessage) -> None:
        """Hand `message` to the provider; raise PushError if it is refused."""
        ...


class RecordingPushAdapter:
    """Record pushes in memory instead of sending them (development and tests)."""

    outbox: ClassVar[list[PushMessage]] = []
    #: Tokens whose pushes fail, to simulate a provider refusing a device.
    failing_tokens: ClassVar[set[str]] = set()

    def send(self, message: PushMessage) -> None:
        if message.token in self.failing_tokens:
            raise PushError("device token rejected")
        self.outbox.append(message)


def get_push_adapter() -> PushAdapter:
    """Return the configured push adapter."""
    adapter: PushAdapter = import_string(option("PUSH_ADAPTER"))()
    return adapter
