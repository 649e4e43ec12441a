"""The platform timers of SPEC section 9, driven day by day with a frozen clock.

The shipping-delay scenario pays an order on Tuesday 2026-04-28, the eve of
Golden Week: 4/29 (昭和の日) and 5/3-5/6 (憲法記念日, みどりの日, こどもの日,
振替休日) are holidays, 5/2-5/3 and 5/9-5/10 weekends. Business days after
payment are therefore 4/30 (1), 5/1 (2), 5/7 (3), 5/8 (4), 5/11 (5).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from claimdesk.accounts.models import ShopPenalty, ShopRestriction
from claimdesk.claims.cancel import claim_cancel_instantly
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.returns import (
    claim_accept_return,
    claim_approve_exchange,
    claim_redeliver,
    claim_request_return,
)
from claimdesk.claims.timers import _each, cancel_unpaid_due, started_before
from claimdesk.core.calendar import business_days_between
from claimdesk.core.errors import Conflict
from claimdesk.messaging.models import Notification
from claimdesk.ops.sweep import sweep
from claimdesk.orders.models import Order, OrderEvent
from claimdesk.orders.services import order_register_delay
from tests.factories import order_in, return_address

pytestmark = pytest.mark.django_db(transaction=False)

TOKYO = ZoneInfo("Asia/Tokyo")
PAID = dt.datetime(2026, 4, 28, 10, 0, tzinfo=TOKYO)


def at(month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=TOKYO)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def sweep_at(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return sweep()


def daily(first: dt.date, last: dt.date, keys: tuple[str, ...]) -> dict[dt.date, tuple[int, ...]]:
    """Sweep at 09:00 every day from `first` to `last`; return the days something happened."""
    happened = {}
    for day in days(first, last):
        counts = sweep_at(at(day.month, day.day))
        row = tuple(counts[k] for k in keys)
        if any(row):
            happened[day] = row
    return happened


def kinds(order: Order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))


def mails(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("pk"))


DELAY_KEYS = ("delay_reminders", "delay_points", "restrictions_imposed")


def test_golden_week_counts_only_business_days():
    """The calendar sees 4/30, 5/1, 5/7, 5/8 and 5/11 as business days 1-5 after 4/28."""
    paid = PAID.date()
    assert [business_days_between(paid, dt.date(2026, 5, d)) for d in range(1, 12)] == [
        2,
        2,
        2,
        2,
        2,
        2,
        3,
        4,
        4,
        4,
        5,
    ]
    # paid on 4/28 is "3 business days ago" from 5/7 on, never before
    assert PAID < started_before(dt.date(2026, 5, 7), 3)
    assert PAID >= started_before(dt.date(2026, 5, 6), 3)


def test_delay_reminder_points_and_restriction_fall_on_business_days_3_4_5(seller, buyer):
    """Reminder on 5/7, two points on 5/8, restriction on 5/11; nothing on the holidays."""
    # given: a card order paid on the eve of Golden Week, never shipped
    with time_machine.travel(PAID, tick=False):
        order = order_in("new", seller=seller, buyer=buyer)
    # when: the sweep runs every morning for two weeks
    happened = daily(dt.date(2026, 4, 28), dt.date(2026, 5, 12), DELAY_KEYS)
    # then
    assert happened == {
        dt.date(2026, 5, 7): (1, 0, 0),
        dt.date(2026, 5, 8): (0, 1, 0),
        dt.date(2026, 5, 11): (0, 0, 1),
    }
    order.refresh_from_db()
    assert order.delay_reminded_at == at(5, 7)
    penalty = ShopPenalty.objects.get(order=order)
    assert (penalty.shop_id, penalty.points, penalty.kind) == (seller.shop_id, 2, "shipping_delay")
    assert penalty.created_at == at(5, 8)
    restriction = ShopRestriction.objects.get(shop=seller.shop)
    assert restriction.order_id == order.pk
    assert restriction.imposed_by is None
    assert (restriction.starts_at, restriction.ends_at) == (at(5, 11), at(6, 10))
    assert restriction.is_active(at(5, 12))
    assert [k for k in kinds(order) if k.startswith(("order.delay", "shop."))] == [
        "order.delay_reminder",
        "shop.penalty_added",
        "shop.restricted",
    ]
    reminder, points, imposed = (
        mails("delay_reminder"),
        mails("delay_points"),
        mails("restriction_imposed"),
    )
    assert [(n.email, n.order_id, n.context["business_days"]) for n in reminder] == [
        (seller.shop.email, order.pk, 3)
    ]
    assert [(n.email, n.context["points"]) for n in points] == [(seller.shop.email, 2)]
    assert [(n.email, n.context["ends_at"]) for n in imposed] == [(seller.shop.email, "2026-06-10")]
    assert str(order.order_no) in imposed[0].context["reason"]


def test_shipped_order_gets_no_reminder(seller, buyer):
    """An order shipped on business day 2 is never reminded, penalised or restricted."""
    with time_machine.travel(PAID, tick=False):
        order_in("shipped", seller=seller, buyer=buyer)
    assert daily(dt.date(2026, 4, 28), dt.date(2026, 5, 12), DELAY_KEYS) == {}
    assert not Notification.objects.filter(kind__in=["delay_reminder", "delay_points"]).exists()


def test_registered_delay_postpones_until_its_date_has_passed(seller, buyer):
    """A delay registered for 5/8 suspends the timers; on 5/11 (next business day) all three fire."""
    # given
    with time_machine.travel(PAID, tick=False):
        order = order_in("new", seller=seller, buyer=buyer)
    with time_machine.travel(at(4, 30, 11), tick=False):
        order_register_delay(
            actor=seller, order=order, est_ship_date="2026-05-08", delay_type=2, memo=""
        )
    # when
    happened = daily(dt.date(2026, 4, 28), dt.date(2026, 5, 12), DELAY_KEYS)
    # then
    assert happened == {dt.date(2026, 5, 11): (1, 1, 1)}


def _late_order_with_on_time_peers(seller, buyer, on_time: int) -> Order:
    with time_machine.travel(PAID, tick=False):
        for _ in range(on_time):
            order_in("shipped", seller=seller, buyer=buyer)
        return order_in("new", seller=seller, buyer=buyer)


@pytest.mark.parametrize(("on_time", "restricted"), [(19, True), (20, False)])
def test_restriction_needs_ship_rate_at_most_95_percent(seller, buyer, on_time, restricted):
    """19 of 20 shipped on time is 95 %: restricted; 20 of 21 (95.2 %) is not, but still gets points."""
    # given
    _late_order_with_on_time_peers(seller, buyer, on_time)
    # when: the worker comes back only on business day 5 and catches up
    counts = sweep_at(at(5, 11))
    # then
    assert (counts["delay_reminders"], counts["delay_points"]) == (1, 1)
    assert counts["restrictions_imposed"] == int(restricted)
    assert ShopRestriction.objects.filter(shop=seller.shop).exists() is restricted


def test_restriction_is_lifted_when_it_ends_and_not_imposed_twice(seller, buyer):
    """The restriction ends 30 days later (mail, lifted_at); the same late order does not re-impose it."""
    # given: restricted on 5/11 09:00 until 6/10 09:00
    with time_machine.travel(PAID, tick=False):
        order = order_in("new", seller=seller, buyer=buyer)
    assert sweep_at(at(5, 11))["restrictions_imposed"] == 1
    # when / then: a second before the end nothing changes
    assert sweep_at(at(6, 10, 8, 59, 59))["restrictions_lifted"] == 0
    counts = sweep_at(at(6, 10, 9))
    assert (counts["restrictions_lifted"], counts["restrictions_imposed"]) == (1, 0)
    restriction = ShopRestriction.objects.get()
    assert restriction.lifted_at == at(6, 10, 9)
    assert not restriction.is_active(at(6, 10, 9))
    assert [n.email for n in mails("restriction_lifted")] == [seller.shop.email]
    assert "shop.restriction_lifted" in kinds(order)
    assert sweep_at(at(6, 11))["restrictions_imposed"] == 0


def test_second_late_order_does_not_stack_restrictions(seller, buyer):
    """Two late orders of one shop give two sets of points but one restriction."""
    with time_machine.travel(PAID, tick=False):
        order_in("new", seller=seller, buyer=buyer)
        order_in("new", seller=seller, buyer=buyer)
    counts = sweep_at(at(5, 11))
    assert (counts["delay_points"], counts["restrictions_imposed"]) == (2, 1)


def test_unpaid_order_is_cancelled_at_its_deadline_not_before(seller, buyer):
    """A bank-transfer order placed 4/28 10:00 is cancelled (claim 16) at 5/1 10:00 sharp."""
    # given
    with time_machine.travel(PAID, tick=False):
        order = order_in("unpaid", seller=seller, buyer=buyer)
    assert order.cart.payment_deadline == at(5, 1, 10)
    # when / then
    assert sweep_at(at(5, 1, 9, 59, 59))["unpaid_cancelled"] == 0
    assert sweep_at(at(5, 1, 10))["unpaid_cancelled"] == 1
    order.refresh_from_db()
    assert order.cancelled_at == at(5, 1, 10)
    claim = Claim.objects.get(order=order)
    assert (claim.status, claim.reason_code, claim.requested_by) == (
        ClaimStatus.UNPAID_CANCELLED,
        "UNPAID",
        "system",
    )
    assert "claim.opened.unpaid_cancel" in kinds(order)
    assert [n.recipient_id for n in mails("unpaid_cancelled")] == [buyer.pk]


def test_a_sweep_takes_at_most_the_rows_per_step_and_the_next_goes_on(seller, buyer, settings):
    """With a backlog each sweep handles a bounded share of it, oldest rows first, until done."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "SWEEP_ROWS_PER_STEP": 2}
    with time_machine.travel(PAID, tick=False):
        orders = [order_in("unpaid", seller=seller, buyer=buyer) for _ in range(5)]
    live = Order.objects.filter(pk__in=[o.pk for o in orders], cancelled_at__isnull=True)
    done = [sweep_at(at(5, 2, 9, minute))["unpaid_cancelled"] for minute in range(4)]
    assert done == [2, 2, 1, 0]
    assert live.count() == 0
    first_two = sorted(o.pk for o in orders)[:2]
    cancelled_first = Claim.objects.filter(order_id__in=first_two).values_list(
        "requested_at", flat=True
    )
    assert set(cancelled_first) == {at(5, 2, 9, 0)}


def test_unpaid_cancel_walks_every_batch(seller, buyer):
    """Five due orders in batches of two are all cancelled."""
    with time_machine.travel(PAID, tick=False):
        orders = [order_in("unpaid", seller=seller, buyer=buyer) for _ in range(5)]
    with time_machine.travel(at(5, 2), tick=False):
        assert cancel_unpaid_due(now=at(5, 2), batch_size=2) == 5
    assert (
        Order.objects.filter(pk__in=[o.pk for o in orders], cancelled_at__isnull=True).count() == 0
    )


def test_trade_completes_14_days_after_delivery_unless_a_claim_is_open(seller, buyer, other_buyer):
    """Delivered 4/1 10:00: completed at 4/15 10:00; the order with a return request is left alone."""
    # given
    with time_machine.travel(at(4, 1, 10), tick=False):
        plain = order_in("delivered", seller=seller, buyer=buyer)
        disputed = order_in("delivered", seller=seller, buyer=other_buyer)
        claim_request_return(actor=other_buyer, order=disputed, reason="DEFECTIVE")
    # when / then
    assert sweep_at(at(4, 15, 9, 59))["trades_completed"] == 0
    assert sweep_at(at(4, 15, 10))["trades_completed"] == 1
    plain.refresh_from_db()
    disputed.refresh_from_db()
    assert plain.completed_at == at(4, 15, 10)
    assert disputed.completed_at is None
    event = OrderEvent.objects.get(order=plain, kind="order.completed")
    assert (event.actor_id, event.actor_role) == (None, "system")
    assert [(n.email, n.order_id) for n in mails("trade_completed")] == [
        (seller.shop.email, plain.pk)
    ]


def test_unanswered_claim_is_flagged_then_escalated_on_business_days(seller, buyer):
    """A return requested Mon 4/27 is flagged on 5/7 (after 3 business days) and escalated on 5/11 (after 5)."""
    # given
    with time_machine.travel(at(4, 27, 15), tick=False):
        order = order_in("delivered", seller=seller, buyer=buyer)
        claim = claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    # when
    happened = daily(
        dt.date(2026, 4, 27),
        dt.date(2026, 5, 12),
        ("claims_flagged_overdue", "claims_escalated"),
    )
    # then
    assert happened == {dt.date(2026, 5, 7): (1, 0), dt.date(2026, 5, 11): (0, 1)}
    claim.refresh_from_db()
    assert (claim.flagged_overdue_at, claim.escalated_at) == (at(5, 7), at(5, 11))
    assert claim.is_open
    assert kinds(order)[-2:] == ["claim.overdue", "claim.escalated"]
    assert [n.email for n in mails("claim_overdue")] == [seller.shop.email]
    assert [n.email for n in mails("claim_escalated")] == [seller.shop.email]


def test_claim_answered_in_time_is_not_flagged(seller, buyer):
    """Once the seller accepts the return (5), the claim no longer waits for them."""
    return_address(seller.shop)
    with time_machine.travel(at(4, 27, 15), tick=False):
        order = order_in("delivered", seller=seller, buyer=buyer)
        claim = claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    with time_machine.travel(at(4, 30, 15), tick=False):
        claim_accept_return(actor=seller, claim=claim, pickup_method="buyer_sends")
    happened = daily(
        dt.date(2026, 4, 27), dt.date(2026, 5, 20), ("claims_flagged_overdue", "claims_escalated")
    )
    assert happened == {}


def test_redelivery_completes_more_than_14_days_after_its_date(seller, buyer):
    """A re-delivery dated 4/2 completes on 4/17, not on 4/16."""
    # given: an exchange re-delivered on 4/2
    return_address(seller.shop)
    with time_machine.travel(at(4, 1, 10), tick=False):
        order = order_in("delivered", seller=seller, buyer=buyer)
        claim = claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
        claim = claim_approve_exchange(actor=seller, claim=claim)
    with time_machine.travel(at(4, 2, 10), tick=False):
        claim_redeliver(
            actor=seller,
            claim=claim,
            redelivery_date="2026-04-02",
            carrier="ヤマト運輸",
            tracking_no="9999",
        )
    # when / then
    assert sweep_at(at(4, 16, 23, 59))["redeliveries_completed"] == 0
    assert sweep_at(at(4, 17, 0, 1))["redeliveries_completed"] == 1
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.EXCHANGE_COMPLETED
    event = OrderEvent.objects.get(order=order, kind="claim.complete_redelivery")
    assert (event.actor_role, event.to_value) == ("system", str(ClaimStatus.EXCHANGE_COMPLETED))
    assert Notification.objects.filter(
        kind="claim_status_changed", claim=claim, email=seller.shop.email
    ).exists()


def test_sweep_twice_at_the_same_instant_does_nothing_the_second_time(seller, buyer, other_buyer):
    """Every step is idempotent: the second sweep counts zero and queues no mail."""
    # given: one of everything due on 5/12 at noon
    with time_machine.travel(PAID, tick=False):
        order_in("new", seller=seller, buyer=buyer)
        order_in("unpaid", seller=seller, buyer=buyer)
        delivered = order_in("delivered", seller=seller, buyer=other_buyer)
    with time_machine.travel(at(4, 20, 10), tick=False):
        returned = order_in("delivered", seller=seller, buyer=buyer)
        claim_request_return(actor=buyer, order=returned, reason="DEFECTIVE")
    # when
    first = sweep_at(at(5, 12, 12))
    mails_after_first = Notification.objects.count()
    events_after_first = OrderEvent.objects.count()
    second = sweep_at(at(5, 12, 12))
    # then (folding the box-count tallies is housekeeping: the orders made rows to fold)
    assert first.pop("tally_rows_folded") > 0
    assert {k: v for k, v in first.items() if v} == {
        "unpaid_cancelled": 1,
        "delay_reminders": 1,
        "delay_points": 1,
        "restrictions_imposed": 1,
        "trades_completed": 1,
        "claims_flagged_overdue": 1,
        "claims_escalated": 1,
    }
    assert set(second.values()) == {0}
    assert Notification.objects.count() == mails_after_first
    assert OrderEvent.objects.count() == events_after_first
    delivered.refresh_from_db()
    assert delivered.completed_at == at(5, 12, 12)


def test_a_row_refused_by_its_service_is_skipped_and_the_rest_go_on(seller, buyer):
    """A DomainError on one row (someone acted first) does not stop the step."""
    with time_machine.travel(PAID, tick=False):
        orders = [order_in("unpaid", seller=seller, buyer=buyer) for _ in range(3)]
    seen: list[int] = []

    def act(pk: int) -> bool:
        seen.append(pk)
        if pk == orders[1].pk:
            raise Conflict("claim_changed", "changed")
        return True

    due = Order.objects.filter(pk__in=[o.pk for o in orders])
    assert _each("test", due, act, batch_size=1) == 2
    assert seen == sorted(o.pk for o in orders)


def test_sweep_fills_the_order_date_of_claims_opened_without_it(seller, buyer, client) -> None:
    """A claim opened by a server on the previous release shows under its order date once swept."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    claim = Claim.objects.get(order=order)
    Claim.objects.filter(pk=claim.pk).update(ordered_at=None)  # as the older release wrote it
    day = order.ordered_at.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
    client.force_login(seller)
    url = f"/seller/claims/?period_kind=order&date_from={day}&date_to={day}"
    assert str(order.order_no) not in client.get(url).content.decode()

    assert sweep()["claim_order_dates_filled"] == 1
    claim.refresh_from_db()
    assert claim.ordered_at == order.ordered_at
    assert str(order.order_no) in client.get(url).content.decode()
    assert sweep()["claim_order_dates_filled"] == 0


def test_sweep_fills_the_shop_of_notes_written_without_it(
    seller, other_seller, buyer, client
) -> None:
    """A buyer's note written by a server on the previous release reaches the seller home's
    unread notes once swept, and never another shop's home."""
    from claimdesk.messaging.models import Note
    from claimdesk.messaging.services import note_send

    order = order_in("shipped", seller=seller, buyer=buyer)
    note = note_send(
        actor=buyer,
        order=order,
        category="shipping",
        title="まだ届きません",
        body="確認してください",
    )
    assert note.shop_id == seller.shop_id
    client.force_login(seller)
    assert "まだ届きません" in client.get("/seller/").content.decode()
    Note.objects.filter(pk=note.pk).update(shop=None)  # as the older release wrote it
    assert "まだ届きません" not in client.get("/seller/").content.decode()

    assert sweep()["note_shops_filled"] == 1
    assert "まだ届きません" in client.get("/seller/").content.decode()
    assert sweep()["note_shops_filled"] == 0
    client.force_login(other_seller)
    assert "まだ届きません" not in client.get("/seller/").content.decode()


def test_the_sweeps_mails_wait_behind_those_of_peoples_actions(seller, buyer):
    """A reminder the sweep queues goes below a cancel's mail and refund queued after it."""
    from django_tasks_db.models import DBTaskResult

    from claimdesk.core.worker import drain_tasks

    # given: the sweep reminds the seller of an unshipped order on business day 3
    with time_machine.travel(PAID, tick=False):
        late = order_in("new", seller=seller, buyer=buyer)
        order = order_in("new", seller=seller, buyer=buyer)
    assert sweep_at(at(5, 7))["delay_reminders"] == 2
    reminded = {n.pk for n in mails("delay_reminder")}
    queued = DBTaskResult.objects.filter(task_path="claimdesk.messaging.tasks.send_notification")
    assert {row["args"][0] for row in queued.values_list("args_kwargs", flat=True)} == reminded
    assert set(queued.values_list("priority", flat=True)) == {-20}
    # when: then the buyer cancels another order, and a worker takes two tasks
    with time_machine.travel(at(5, 7, 9, 5), tick=False):
        claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
        assert DBTaskResult.objects.filter(priority=0).count() == 1  # its refund
        drain_tasks(max_tasks=2)
    # then: the refund, then the mail its success queued after the reminders, went first
    assert order.refunds.get().status == "succeeded"
    done = Notification.objects.filter(order=order).exclude(kind="delay_reminder")
    assert list(done.values_list("kind", "status")) == [("refund_succeeded", "sent")]
    assert {m.status for m in mails("delay_reminder")} == {"queued"}
    assert late.delay_reminded_at is None  # read before the sweep
