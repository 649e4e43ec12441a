"""The Jinja2 environment of the portals' hot row partials (`claimdesk/portals/jinja2/`).

The lists a busy shop opens all day (the claims and shipping lists) render their
50 rows from Jinja2 templates: compiled to Python, a row costs a fraction of what
Django's template engine spends on variable lookups through model instances,
`|date` and `{% url %}`. The rest of the page stays a Django template and takes
the rows as markup (`render_rows`).

Templates are autoescaped. Translation goes through Django's own catalogues in
the active language: `_()`/`gettext()`, `pgettext()`, `ngettext()` and
`npgettext()` return the translation as text (escaped when shown); fill its
placeholders with `|format(name=value)`, and translate a row's fixed texts once
before the loop (`{% set select = _("Select order %(no)s") %}`): a translation
call inside a loop makes Jinja2 copy the context for it. `{% trans %}` blocks
work too. Write `_("…")` with a literal, closed right after the string, so that
`makemessages` finds the message as it does in Django templates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from jinja2 import Environment

#: The alias of the Jinja2 engine in settings.TEMPLATES.
ENGINE = "jinja2"


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """Return the path of the URL pattern `name`, as `{% url %}` does."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def order_url(name: str) -> OrderUrl:
    """Return a maker of `name`'s URL for an order number, reversed once for a whole list."""
    return OrderUrl(name)


class OrderUrl:
    """The URL of a pattern taking `order_no`, for many orders: reversed once, then joined."""

    def __init__(self, name: str) -> None:
        head, _zero, tail = reverse(name, kwargs={"order_no": 0}).rpartition("0")
        self.head, self.tail = head, tail

    def __call__(self, order_no: int) -> str:
        return f"{self.head}{int(order_no)}{self.tail}"


def ymd(value: dt.datetime | dt.date | None, time: bool = False) -> str:
    """Return `value|date:"Y/m/d"` (with `time`, `"Y/m/d H:i"`) in the current zone ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    text = f"{value.year:04d}/{value.month:02d}/{value.day:02d}"
    if time and isinstance(value, dt.datetime):
        return f"{text} {value.hour:02d}:{value.minute:02d}"
    return text


def environment(**options: Any) -> Environment:
    """Return the portals' Jinja2 environment (settings.TEMPLATES names it)."""
    options.setdefault("autoescape", True)
    env = Environment(extensions=["jinja2.ext.i18n"], **options)  # noqa: S701 - autoescape is set
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=translation.gettext,
        ngettext=translation.ngettext,
        pgettext=translation.pgettext,
        npgettext=translation.npgettext,
        newstyle=False,
    )
    env.globals.update({"url": url, "order_url": order_url, "static": static})
    env.filters.update({"ymd": ymd})
    return env


def render_rows(
    name: str, context: dict[str, Any], request: HttpRequest | None = None
) -> SafeString:
    """Return the Jinja2 partial `name` rendered, as markup a Django template puts in unescaped.

    The template escaped every value it shows; what it returns is HTML, as
    `render_to_string` of a Django template is.
    """
    return SafeString(get_template(name, using=ENGINE).render(context, request))
