"""The claims tally: claims per shop, status and day, kept by the database (`core.tally`)."""

from __future__ import annotations

from claimdesk.core.tally import Entry, Tally

from .models import TallyKind

_KEY = ("shop_id", "kind", "day", "status")


def _by(kind: int, day: str, when: str = "TRUE") -> Entry:
    return Entry(key=("{r}.shop_id", str(kind), day, "{r}.status"), when=when)


CLAIMS = Tally(
    table="claims_claimtally",
    source="claims_claim",
    key=_KEY,
    entries=(
        _by(TallyKind.REQUEST, "{day:{r}.requested_at}"),
        _by(TallyKind.ORDER, "{day:{r}.ordered_at}", "{r}.ordered_at IS NOT NULL"),
        _by(TallyKind.COMPLETE, "{day:{r}.completed_at}", "{r}.completed_at IS NOT NULL"),
        _by(TallyKind.OPEN, "NULL", "{r}.is_open"),
        # the home boxes' lists with a period chosen
        _by(TallyKind.OPEN_REQUEST, "{day:{r}.requested_at}", "{r}.is_open"),
        _by(
            TallyKind.OPEN_ORDER,
            "{day:{r}.ordered_at}",
            "{r}.is_open AND {r}.ordered_at IS NOT NULL",
        ),
    ),
    watched=("shop_id", "status", "is_open", "requested_at", "ordered_at", "completed_at"),
    nullable=("day",),
)

#: `core.tally.fingerprint(CLAIMS)` as installed by the latest migration that installs
#: it (claims/0008_tally). Changing CLAIMS needs a new migration running `tally.install`.
INSTALLED = "629cdf7e4511067c"
