"""Translatable messages whose placeholders are filled when they are shown.

`gettext_lazy("…%(x)s") % {...}` translates at once, in whatever language is
active where the error was raised. A refusal is often shown elsewhere: in a
mail, an API answer, a page in another language. `lazy_text` keeps both the
message and its values and translates only when the text is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext


def _render(message: str, params: Mapping[str, Any]) -> str:
    return gettext(message) % {key: str(value) for key, value in params.items()}


_render_lazy = lazy(_render, str)


class LazyText(str):
    """A message id that translates when rendered; `%` keeps it lazy."""

    def __str__(self) -> str:
        return gettext(str.__str__(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __mod__(self, params: Any) -> Promise:  # type: ignore[override]
        return _render_lazy(str.__str__(self), params)  # type: ignore[return-value]


def lazy_text(message: str) -> LazyText:
    """Mark `message` for translation at render time (use as `_` in service modules)."""
    return LazyText(message)
