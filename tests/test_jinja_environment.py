"""The Jinja2 environment of the portals' row partials: escaping, URLs, static files, i18n."""

from __future__ import annotations

import pytest
from django.template import engines
from django.utils import translation

from claimdesk.portals.jinja import ymd


def _render(source: str, **context: object) -> str:
    return engines["jinja2"].from_string(source).render(context)


def test_values_are_escaped_and_urls_and_static_files_resolve():
    """A value's markup is escaped; url() and static() give the paths Django's tags give."""
    html = _render(
        '<a href="{{ url("seller:claim", order_no=7) }}">{{ name }}</a>'
        '<link rel="stylesheet" href="{{ static("portals/portal.css") }}">',
        name="<script>alert(1)</script>",
    )
    assert html == (
        '<a href="/seller/claims/7/">&lt;script&gt;alert(1)&lt;/script&gt;</a>'
        '<link rel="stylesheet" href="/static/portals/portal.css">'
    )


@pytest.mark.parametrize(
    ("language", "cancelled", "credited"),
    [
        ("ja", "キャンセル済み", "2件の払い戻しが残高に入金されました。"),
        ("zh-hans", "已取消", "已有 2 笔退款存入您的余额。"),
        ("en", "Cancelled", "2 refunds were credited to your balance."),
    ],
)
def test_texts_are_translated_in_the_active_language(language, cancelled, credited):
    """gettext, pgettext and ngettext read Django's catalogues in the language active now."""
    source = (
        '{{ pgettext("order state", "Cancelled") }}|'
        '{{ ngettext("%(counter)s refund was credited to your balance.",'
        ' "%(counter)s refunds were credited to your balance.", 2)|format(counter=2) }}|'
        '{{ _("Select order %(no)s")|format(no="<1>") }}'
    )
    with translation.override(language):
        select = translation.gettext("Select order %(no)s") % {"no": "&lt;1&gt;"}
        assert _render(source) == f"{cancelled}|{credited}|{select}"
    if language != "en":
        assert not select.startswith("Select order")


def test_dates_are_shown_in_the_current_zone():
    """`ymd` shows a moment as the day (and time) in the zone active for the viewer."""
    import datetime as dt
    import zoneinfo

    from django.utils import timezone

    moment = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert (ymd(moment), ymd(moment, time=True)) == ("2026/03/11", "2026/03/11 00:30")
    with timezone.override(zoneinfo.ZoneInfo("America/Los_Angeles")):
        assert _render("{{ m|ymd(time=True) }}|{{ none|ymd }}", m=moment) == "2026/03/10 08:30|"
