"""The one family of refusals the domain raises.

A `DomainError` carries a stable machine `code` (used by the API, the QAPI
result codes and the tests), a message already translated through gettext
(lazy, so it renders in whatever language is active where it is shown), and a
`data` dict for the details an interface may want to show.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A refused action: nothing was changed."""

    #: HTTP-ish kind used by interface layers: "state", "input", "not_found", "forbidden".
    kind = "state"

    def __init__(self, code: str, message: str | Promise, data: dict[str, Any] | None = None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.data = data or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(DomainError):
    """The request itself is malformed: too long, wrong format, unknown choice."""

    kind = "input"


class NotFound(DomainError):
    """The object does not exist or belongs to someone else (never say which)."""

    kind = "not_found"


class Forbidden(DomainError):
    """The actor's role may never take this action."""

    kind = "forbidden"


class Conflict(DomainError):
    """Someone else changed the object first; reload and try again."""

    kind = "state"
