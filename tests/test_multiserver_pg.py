"""Two app servers and two workers on one PostgreSQL do every task exactly once (issue 7).

Starts two gunicorn processes and two `manage.py worker` processes on the
test database, cancels 40 paid card orders through both servers (every third
one on both at the same moment), and checks that each order has one cancel
and one refund, the card processor saw each refund once, and every task row
finished and was claimed by exactly one worker. See bench/multiserver.py.
"""

from __future__ import annotations

import pytest
from django.db import connection

from bench.multiserver import run
from tests.factories import BuyerFactory, SellerFactory, order_in

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_two_servers_two_workers_do_every_task_once(postgres: None) -> None:
    """Every cancel lands once and every refund and mail task runs on exactly one worker."""
    # given
    work = {}
    for _ in range(2):
        seller = SellerFactory()
        buyer = BuyerFactory()
        work[seller] = [
            order_in("confirmed", seller=seller, buyer=buyer, method="card").order_no
            for _ in range(20)
        ]
    # when
    report = run(_database_url(), work, threads=6, drain_timeout=45)
    # then
    assert report.ok, report.problems[:20]
    assert report.requests > report.orders  # the double presses happened
    assert len(report.tasks_by_worker) == 2
