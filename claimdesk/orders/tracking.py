"""Links to the carriers' own tracking pages."""

from __future__ import annotations

from urllib.parse import quote

#: carrier name as sellers type it -> tracking URL with {no} for the number
TRACKING_URLS = {
    "ヤマト運輸": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01={no}",
    "クロネコヤマト": "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01={no}",
    "佐川急便": "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo={no}",
    "ゆうパック": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={no}",
    "ゆうメール": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={no}",
    "日本郵便": "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={no}",
    "Qxpress": "https://www.qxpress.net/Customer/PopupTraceTracking.aspx?TrackingNo={no}",
}


def tracking_url(carrier: str, tracking_no: str) -> str:
    """Return the carrier's tracking page for `tracking_no`, or "" for an unknown carrier."""
    template = TRACKING_URLS.get(carrier.strip())
    if not template or not tracking_no.strip():
        return ""
    return template.format(no=quote(tracking_no.strip(), safe=""))
