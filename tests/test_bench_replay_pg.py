"""bench/replay.py: the service's cancel statements, replayed by pgbench, cancel as the service does.

The replay is the database's own share of a cancel in bench.cancel (the most
cancels per second any application could reach with those statements). It is
only a fair figure if each replayed transaction does the same work as the
service: the order, its claim, refund, ledger, mails and tasks, for the
order it took, not for the one the statements were recorded on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.models import Sum

from bench.cancel import _connection, _pgbench_bin
from bench.replay import (
    ONE_CALL,
    _load_candidates,
    as_function,
    build_script,
    record,
    replay,
    run_script,
)
from claimdesk.claims.models import Claim, ClaimStatus, ClaimType
from claimdesk.messaging.models import Notification
from claimdesk.orders.models import Order
from claimdesk.payments.models import Account, LedgerEntry, Refund, RefundStatus
from tests.conftest import need
from tests.factories import BuyerFactory, SellerFactory, order_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _tools() -> tuple[list[str], list[str], dict[str, str]]:
    """pgbench and psql with the connection arguments bench.cancel gives them, and their env."""
    try:
        binary = _pgbench_bin()
    except SystemExit:
        need(False, "needs pgbench (Debian's postgresql-client)")
    conn, env = _connection()
    return [binary, *conn], ["psql", "-q", *conn], env


@pytest.fixture
def distinct_ids(postgres: None) -> None:
    """Ids far apart per table, as in the generated data: a value then names one row only."""
    tables = [
        "accounts_user",
        "accounts_shop",
        "orders_cart",
        "orders_order",
        "claims_claim",
        "payments_refund",
        "payments_ledgertransaction",
        "messaging_notification",
    ]
    with connection.cursor() as cur:
        for n, table in enumerate(tables, start=1):
            cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, n * 100_003])


@pytest.fixture(autouse=True)
def _no_replay_leftovers(postgres: None) -> Iterator[None]:
    """Whatever a test ends with, the next one starts without the replay's table or function."""
    yield
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_replay_candidate")
        cur.execute("DROP SEQUENCE IF EXISTS bench_replay_next")
        cur.execute("DROP FUNCTION IF EXISTS bench_replay_cancel")


def _orders(method: str, count: int) -> list[Order]:
    """`count` paid new orders, each of a shop and a buyer of its own."""
    return [
        order_in("new", seller=SellerFactory(), buyer=BuyerFactory(), method=method)
        for _ in range(count)
    ]


@pytest.mark.parametrize("one_call", [False, True], ids=["statements", "one-function-call"])
def test_each_replayed_cancel_is_the_services_cancel_of_its_own_order(
    distinct_ids: None, one_call: bool
) -> None:
    """Card: a pending refund and its task; balance: settled, ledger balanced, claim completed.

    Both as pgbench sends the statements one by one and as one PL/pgSQL call.
    """
    # given: statements recorded on one card and one balance order of other shops
    card_template, *cards = _orders("card", 3)
    balance_template, *balances = _orders("balance", 3)
    script = build_script(record([card_template.pk])[0], record([balance_template.pk])[0])
    candidates = cards + balances
    _load_candidates([o.pk for o in candidates])
    pgbench, _psql, env = _tools()
    if one_call:
        with connection.cursor() as cur:
            cur.execute("DROP FUNCTION IF EXISTS bench_replay_cancel")
            cur.execute(as_function(script))
    # when
    run_script(
        ONE_CALL if one_call else script,
        connection.settings_dict["NAME"],
        clients=2,
        transactions=len(candidates) // 2,
        pgbench=pgbench,
        env=env,
    )
    # then
    for order in candidates:
        order.refresh_from_db()
        assert order.cancelled_at is not None
        claim = Claim.objects.get(order=order)
        assert (claim.type, claim.buyer_id) == (ClaimType.CANCEL, order.buyer_id)
        refund = Refund.objects.get(claim=claim)
        assert refund.order_id == order.pk and refund.idempotency_key == f"claim-{claim.pk}"
        kinds = Counter(order.events.values_list("kind", flat=True))
        assert kinds["order.cancelled"] == 1 and kinds["claim.opened.cancel"] == 1
        # its own shop and buyer, not the recorded order's
        assert (claim.shop_id, refund.buyer_id) == (order.shop_id, order.buyer_id)
        mails = Notification.objects.filter(order=order)
        assert set(mails.values_list("recipient_id", flat=True)) == {order.buyer_id}
        # the mail names its own order's number
        assert {m.context["order_no"] for m in mails} == {order.order_no}
    for order in cards:
        refund = Refund.objects.get(order=order)
        assert refund.status == RefundStatus.PENDING
        assert Claim.objects.get(order=order).status == ClaimStatus.CANCELLING
    for order in balances:
        refund = Refund.objects.get(order=order)
        assert refund.status == RefundStatus.SUCCEEDED
        assert Claim.objects.get(order=order).status == ClaimStatus.CANCEL_COMPLETED
        entries = LedgerEntry.objects.filter(transaction__refund=refund)
        assert entries.count() >= 2 and entries.aggregate(t=Sum("amount_minor"))["t"] == 0
        parties = dict(entries.values_list("account", "party_id"))
        assert parties[Account.BUYER_BALANCE] == order.buyer_id
        assert parties[Account.SELLER_PAYABLE] == order.shop_id
    with connection.cursor() as cur:
        cur.execute(
            "SELECT args_kwargs->'args'->>0 FROM django_tasks_database_dbtaskresult "
            "WHERE task_path = 'claimdesk.claims.refunds.process_refund'"
        )
        refunded = {int(row[0]) for row in cur.fetchall()}
    assert {r.pk for r in Refund.objects.filter(order__in=cards)} <= refunded


def test_replay_runs_on_a_copy_and_leaves_the_database_alone(distinct_ids: None) -> None:
    """bench.cancel's replay: a copy of the database is cancelled, then dropped."""
    # given
    orders = _orders("card", 12) + _orders("balance", 12)
    pgbench, psql, env = _tools()
    # when
    figures = replay(
        [o.pk for o in orders], seconds=1, clients=2, pgbench=pgbench, psql=psql, env=env
    )
    # then: two orders were cancelled through the service to record the statements, the others
    # only in the copy
    assert figures["transactions"] > 0
    assert float(figures["tps"]) > 0 and float(figures["one_call_tps"]) > 0
    assert (
        Order.objects.filter(pk__in=[o.pk for o in orders], cancelled_at__isnull=False).count() == 2
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s",
            [connection.settings_dict["NAME"] + "_replay"],
        )
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT to_regclass('bench_replay_candidate')")
        assert cur.fetchone()[0] is None
        cur.execute("SELECT count(*) FROM pg_proc WHERE proname = 'bench_replay_cancel'")
        assert cur.fetchone()[0] == 0


def test_replay_with_another_session_on_the_database_stops_and_names_it(
    distinct_ids: None,
) -> None:
    """PostgreSQL copies no database with others connected: the replay says which, and why."""
    import psycopg

    # given: someone else connected to the database
    orders = _orders("card", 4) + _orders("balance", 4)
    pgbench, psql, env = _tools()
    s = connection.settings_dict
    other = psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"],
        dbname=s["NAME"],
        application_name="someone-else",
    )
    try:
        # when
        with pytest.raises(SystemExit) as stopped:
            replay(
                [o.pk for o in orders], seconds=1, clients=2, pgbench=pgbench, psql=psql, env=env
            )
    finally:
        other.close()
    # then
    assert "someone-else" in str(stopped.value) and "--no-replay" in str(stopped.value)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [s["NAME"] + "_replay"])
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT to_regclass('bench_replay_candidate')")
        assert cur.fetchone()[0] is None


def test_a_number_of_the_sql_that_equals_an_id_stays_a_number(distinct_ids: None) -> None:
    """A shop id of 21 is not LIMIT 21 (Django's .get()): only bound values become variables."""
    # given: the recorded order's shop has id 21
    with connection.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('accounts_shop', 'id'), 20)")
    (template,) = _orders("card", 1)
    assert template.shop_id == 21
    # when
    lines = record([template.pk])[0]
    # then
    script = "\n".join(lines)
    assert "LIMIT 21" in script and "LIMIT :sid" not in script
    assert '"shop_id" = :sid' in script or "shop_id = :sid" in script


def test_the_replay_reads_the_order_as_the_portal_does_first(distinct_ids: None) -> None:
    """bench.cancel times the portal's order read with each cancel: the replay sends it too."""
    # given
    (template,) = _orders("card", 1)
    # when
    first, *rest = record([template.pk])[0]
    # then: the seller's read by the order's number in the shop, the order row alone as for
    # every action (the cancel reads it again under its lock)
    assert first.startswith("SELECT") and "FOR UPDATE" not in first
    assert (
        '"orders_order"."order_no" = :ono' in first and '"orders_order"."shop_id" = :sid' in first
    )
    assert "JOIN" not in first
    assert str(template.order_no) not in "\n".join([first, *rest])
