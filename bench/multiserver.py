"""Two app servers and two workers on one PostgreSQL: every task done exactly once under load.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.multiserver [--orders 300]

Starts two gunicorn servers (config.wsgi, one process each, on two loopback
ports) and two `manage.py worker` processes, all on the database of
DATABASE_URL. A threaded client signs in as each shop's seller and cancels
paid card orders through the seller page, alternating servers; every third
order is cancelled on both servers at the same moment (a double press on
two machines). Each cancel writes a `process_refund` task and mail tasks in
its transaction; the workers claim them with SELECT … FOR UPDATE SKIP LOCKED.

Then it checks: one cancel claim and one refund per order; every task row
finished successfully and was claimed by exactly one worker (`worker_ids`);
the card processor saw each refund key once; every notification was sent
once. `tests/test_multiserver_pg.py` runs the same check on a small scale.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Report:
    orders: int = 0
    requests: int = 0
    status_codes: dict[int, int] = field(default_factory=dict)
    seconds_load: float = 0.0
    seconds_drain: float = 0.0
    tasks: int = 0
    tasks_by_worker: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _session_cookie(user: Any) -> str:
    """Create a signed-in session for `user` directly (no password round trip)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def run(
    database_url: str,
    work: dict[Any, list[int]],
    *,
    threads: int = 8,
    drain_timeout: float = 120,
    require_both: bool = True,
) -> Report:
    """Cancel `work` (seller -> order nos) through two servers while two workers drain the queue."""
    import requests
    from django.db import connection

    from claimdesk.claims.models import Claim
    from claimdesk.payments.models import Refund

    report = Report(orders=sum(len(v) for v in work.values()))
    var = Path(tempfile.mkdtemp(prefix="claimdesk-multiserver-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CLAIMDESK_VAR_DIR": str(var),
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("MAIL_SMTP_HOST", None)
    python = sys.executable
    ports = [_free_port(), _free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    started_at = time.time()
    try:
        for n, port in enumerate(ports):
            log = open(var / f"server{n}.log", "wb")  # noqa: SIM115 - closed in finally
            logs.append(log)
            procs.append(
                subprocess.Popen(  # noqa: S603 - fixed command
                    [
                        python,
                        "-m",
                        "gunicorn",
                        "config.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--threads",
                        "4",
                        "--timeout",
                        "60",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for n in range(2):
            log = open(var / f"worker{n}.log", "wb")  # noqa: SIM115 - closed in finally
            logs.append(log)
            procs.append(
                subprocess.Popen(  # noqa: S603 - fixed command
                    [python, "manage.py", "worker", "--interval", "0.2"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port in ports:
            _wait_port(port)

        bases = [f"http://127.0.0.1:{p}" for p in ports]
        lock = threading.Lock()
        codes: Counter[int] = Counter()

        def client(user: Any) -> requests.Session:
            session = requests.Session()
            session.cookies.set("sessionid", _session_cookie(user))
            for base in bases:
                session.get(f"{base}/seller/", timeout=30)  # sets csrftoken
            return session

        def cancel(session: requests.Session, base: str, order_no: int) -> None:
            response = session.post(
                f"{base}/seller/orders/{order_no}/cancel/",
                data={
                    "mode": "cancel",
                    "reason": "OUT_OF_STOCK",
                    "seller_memo": "在庫切れのためキャンセルします",
                    "confirm_without_notice": "on",
                    "csrfmiddlewaretoken": session.cookies.get("csrftoken", "") or "",
                },
                headers={"X-CSRFToken": session.cookies.get("csrftoken", "") or ""},
                allow_redirects=False,
                timeout=60,
            )
            with lock:
                codes[response.status_code] += 1

        jobs: list[tuple[requests.Session, str, int]] = []
        for user, order_nos in work.items():
            session = client(user)
            for i, order_no in enumerate(order_nos):
                jobs.append((session, bases[i % 2], order_no))
                if i % 3 == 0:
                    jobs.append(
                        (session, bases[(i + 1) % 2], order_no)
                    )  # the same order on the other server
        connection.close()
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda job: cancel(*job), jobs))
        report.seconds_load = round(time.perf_counter() - began, 1)
        report.requests = len(jobs)
        report.status_codes = dict(codes)

        began = time.perf_counter()
        deadline = time.time() + drain_timeout
        while time.time() < deadline:
            if not [
                t for t in _tasks_of(work, started_at) if t.status in ("READY", "RUNNING")
            ] and not (
                Refund.objects.filter(order__order_no__in=_all(work), status="pending").exists()
            ):
                break
            time.sleep(0.3)
        report.seconds_drain = round(time.perf_counter() - began, 1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()

    order_nos = _all(work)
    claims = Claim.objects.filter(order__order_no__in=order_nos, type="cancel")
    per_order = Counter(claims.values_list("order__order_no", flat=True))
    for order_no in order_nos:
        if per_order.get(order_no, 0) != 1:
            report.problems.append(f"order {order_no}: {per_order.get(order_no, 0)} cancel claims")
    once = exactly_once(order_nos, started_at, refunded=order_nos)
    report.problems += once.problems
    report.tasks = once.tasks
    report.tasks_by_worker = once.tasks_by_worker
    if require_both and len(report.tasks_by_worker) < 2:
        report.problems.append(f"only {len(report.tasks_by_worker)} worker ran tasks")
    return report


def _tasks_of(work: dict[Any, list[int]], since: float) -> list[Any]:
    """Return this run's task rows: refunds and mails of its orders.

    A worker started on a database with old work (pending refunds, the sweep's
    reminders over a million orders) queues more; those are not this run's.
    """
    from django_tasks_db.models import DBTaskResult

    from claimdesk.messaging.models import Notification
    from claimdesk.payments.models import Refund

    order_nos = _all(work)
    mine = {
        "claimdesk.claims.refunds.process_refund": set(
            Refund.objects.filter(order__order_no__in=order_nos).values_list("pk", flat=True)
        ),
        "claimdesk.messaging.tasks.send_notification": set(
            Notification.objects.filter(order__order_no__in=order_nos).values_list("pk", flat=True)
        ),
    }
    return [
        t
        for t in DBTaskResult.objects.filter(
            enqueued_at__gte=_aware(since), task_path__in=list(mine)
        )
        if (t.args_kwargs.get("args") or [None])[0] in mine[t.task_path]
    ]


@dataclass
class Once:
    problems: list[str] = field(default_factory=list)
    tasks: int = 0
    tasks_by_worker: dict[str, int] = field(default_factory=dict)


def exactly_once(order_nos: list[int], since: float, *, refunded: list[int]) -> Once:
    """Check the refunds, tasks, mails and ledger of `order_nos` once the workers are done.

    `refunded` (a subset) are the orders that must have exactly one refund,
    succeeded, seen once by the card processor. For all of `order_nos`: every
    task row since `since` (epoch s) finished and was claimed by one worker,
    one process_refund task per card refund, every notification sent once and
    no two notification rows for the same (kind, recipient, order, claim,
    note); and the ledger balances (each currency's entries sum to zero).
    """
    from django.db.models import Count

    from claimdesk.messaging.models import Notification
    from claimdesk.payments.ledger import ledger_total
    from claimdesk.payments.models import Refund, SimulatedGatewayRefund

    once = Once()
    problems = once.problems
    refunds = Refund.objects.filter(order__order_no__in=refunded)
    per_order = Counter(refunds.values_list("order__order_no", flat=True))
    missing = [n for n in refunded if per_order.get(n, 0) != 1]
    if missing:
        problems.append(f"{len(missing)} orders without exactly one refund, e.g. {missing[:5]}")
    not_done = refunds.exclude(status="succeeded").count()
    if not_done:
        problems.append(f"{not_done} refunds not succeeded")
    card = refunds.filter(destination="card")
    keys = [f"{r.idempotency_key}:{r.attempt}" for r in card]
    seen = Counter(
        SimulatedGatewayRefund.objects.filter(key__in=keys).values_list("key", flat=True)
    )
    twice = [k for k in keys if seen.get(k, 0) != 1]
    if twice:
        problems.append(
            f"{len(twice)} card refunds not seen exactly once by the processor, e.g. {twice[:3]}"
        )
    tasks = _tasks_of({None: order_nos}, since)
    per_refund = Counter(
        t.args_kwargs["args"][0] for t in tasks if t.task_path.endswith("process_refund")
    )
    if any(per_refund.get(r, 0) != 1 for r in card.values_list("pk", flat=True)):
        problems.append("a card refund did not get exactly one process_refund task")
    once.tasks = len(tasks)
    for task in tasks:
        if task.status != "SUCCESSFUL":
            problems.append(f"task {task.id} {task.task_path}: {task.status}")
        if len(task.worker_ids) != 1:
            problems.append(f"task {task.id} {task.task_path} claimed by {task.worker_ids}")
        for worker in task.worker_ids:
            once.tasks_by_worker[worker] = once.tasks_by_worker.get(worker, 0) + 1
    notes = Notification.objects.filter(order__order_no__in=order_nos)
    unsent = notes.exclude(status="sent").count()
    if unsent:
        problems.append(f"{unsent} notifications not sent")
    resent = notes.filter(attempts__gt=1).count()
    if resent:
        problems.append(f"{resent} notifications sent more than once")
    doubled = (
        notes.values("kind", "recipient_id", "order_id", "claim_id", "note_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    if doubled:
        problems.append(f"{doubled} notifications written twice for the same (kind, object)")
    unbalanced = {c: s for c, s in ledger_total().items() if s}
    if unbalanced:
        problems.append(f"the ledger does not balance: {unbalanced}")
    return once


def _all(work: dict[Any, list[int]]) -> list[int]:
    return [n for nos in work.values() for n in nos]


def _aware(epoch: float) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch - 1, dt.UTC)


def _bench_work(orders: int) -> dict[Any, list[int]]:
    """Pick paid card orders without a claim from the generated shops (not the big one)."""
    from django.db.models import Exists, OuterRef

    from claimdesk.accounts.models import User
    from claimdesk.claims.models import Claim
    from claimdesk.orders.models import Order

    rows = (
        Order.objects.filter(
            cancelled_at__isnull=True,
            paid_at__isnull=False,
            shipping_status__in=[2, 3],
            cart__payment_method="card",
        )
        .exclude(shop__code="bench-big")
        .filter(~Exists(Claim.objects.open_for(OuterRef("pk"))))
        .order_by("-ordered_at")
        .values_list("shop_id", "order_no")[:orders]
    )
    work: dict[Any, list[int]] = {}
    sellers: dict[int, Any] = {}
    for shop_id, order_no in rows:
        if shop_id not in sellers:
            sellers[shop_id] = User.objects.filter(shop_id=shop_id, role="seller").first()
        work.setdefault(sellers[shop_id], []).append(order_no)
    return work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--drain-timeout", type=float, default=600)
    args = parser.parse_args(argv)
    from bench.common import save, setup_django

    setup_django()
    work = _bench_work(args.orders)
    # On the generated database one worker is busy with the sweep over a million
    # orders for a while; the other then drains everything, which is fine.
    report = run(
        os.environ["DATABASE_URL"], work, require_both=False, drain_timeout=args.drain_timeout
    )
    print(
        f"{report.orders} orders, {report.requests} requests in {report.seconds_load} s "
        f"({report.status_codes}); {report.tasks} tasks drained in {report.seconds_drain} s "
        f"by {report.tasks_by_worker}"
    )
    print(
        "every task done exactly once"
        if report.ok
        else "PROBLEMS:\n" + "\n".join(report.problems[:30])
    )
    save("multiserver", {"report": report.__dict__, "ok": report.ok})
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Once", "Report", "exactly_once", "run"]
