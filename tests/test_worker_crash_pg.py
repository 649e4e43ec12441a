"""A worker killed (kill -9) in the middle of each kind of task: the next worker finishes it, once.

Each test starts `manage.py worker` on the test database, holds it at a point
in the middle of one task (a mail server that does not answer yet, a webhook
receiver that does not answer yet, a push provider, a row lock the bulk sheet
or the sweep waits for), kills it with SIGKILL, lets go and starts another
worker (`worker --once`). The work is then done, and done once where it leaves
the system: one mail, one push per device; a webhook may arrive again, with
the same delivery id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from openpyxl import Workbook

from claimdesk.claims.bulk import bulk_cancel_confirm, bulk_cancel_preview
from claimdesk.claims.models import BulkJobStatus, Claim
from claimdesk.core.worker import drain_tasks
from claimdesk.messaging.models import (
    Notification,
    NotificationStatus,
    PushAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
)
from claimdesk.messaging.services import note_send, notify, push_device_register
from claimdesk.messaging.webhook_fanout import webhook_emit
from claimdesk.messaging.webhooks import webhook_endpoint_create
from claimdesk.orders.models import Cart, Order
from tests.factories import order_in
from tests.worker_tasks import PUSH_LOCK

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 60


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for another process to reach a state (polling the database or a server)."""
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"waited {DEADLINE} s for {what}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Workers:
    """Start worker processes on the test database; kill one; run another to the end."""

    def __init__(self, tmp_path: Path) -> None:
        s = connection.settings_dict
        url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "LOG_LEVEL": "INFO",
            "CLAIMDESK_TEST_PUSH_LOG": str(tmp_path / "push.log"),
        }
        self.env.pop("MAIL_SMTP_HOST", None)
        self.log = tmp_path / "worker.log"
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed command
                [sys.executable, "manage.py", "worker", "--interval", "0.1"],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.running.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=DEADLINE)

    def once(self) -> None:
        """Run a new worker until the queue is empty (it starts by recovering tasks)."""
        done = subprocess.run(  # noqa: S603 - this interpreter, a fixed command
            [sys.executable, "manage.py", "worker", "--once"],
            cwd=settings.BASE_DIR,
            env=self.env,
            capture_output=True,
            timeout=DEADLINE * 2,
            check=False,
        )
        assert done.returncode == 0, done.stdout.decode()[-2000:] + done.stderr.decode()[-2000:]

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=DEADLINE)


@pytest.fixture
def workers(postgres: None, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(tmp_path)
    try:
        yield w
    finally:
        w.stop_all()


def _stuck(task_path: str) -> DBTaskResult:
    """The one task of `task_path`, which the killed worker left RUNNING."""
    task = DBTaskResult.objects.get(task_path=task_path)
    assert task.status == TaskResultStatus.RUNNING
    return task


def _waiting_on_a_lock(kind: str) -> bool:
    """Whether some session of the test database waits for a lock (`advisory` or a row)."""
    with connection.cursor() as cursor:
        if kind == "advisory":
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
        else:
            # inside a transaction the statistics views keep their first snapshot: drop it
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
        return int(cursor.fetchone()[0]) > 0


# --- mail ----------------------------------------------------------------------------------


class GatedInbox:
    """An SMTP server that keeps the first sender waiting at MAIL FROM, and keeps each message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.sessions = 0
        self.reached = threading.Event()
        self.release = threading.Event()

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        self.sessions += 1
        if self.sessions == 1:
            self.reached.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, DEADLINE)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


def test_a_mail_whose_worker_was_killed_is_sent_once(workers, seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """Killed while talking to the mail server: the next worker sends the mail, exactly once."""
    inbox = GatedInbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    workers.env["CLAIMDESK_TEST_SMTP_PORT"] = str(port)
    try:
        order = order_in("new", seller=seller, buyer=buyer)
        drain_tasks()  # what placing the order queued, so that the worker has one mail to send
        with transaction.atomic():
            notify(shop=order.shop, kind="cancel_requested", order=order)
        mail = Notification.objects.get(kind="cancel_requested")
        proc = workers.start()
        _until(inbox.reached.is_set, "the worker to reach the mail server")
        mail.refresh_from_db()
        assert mail.claimed_by.endswith(f":{proc.pid}")  # claimed before the mail leaves
        workers.kill(proc)
        inbox.release.set()
        _stuck("claimdesk.messaging.tasks.send_notification")
        assert inbox.messages == []
        workers.once()
    finally:
        inbox.release.set()
        controller.stop()
    mail.refresh_from_db()
    assert mail.status == NotificationStatus.SENT and not mail.claimed_by
    assert len(inbox.messages) == 1
    assert (
        inbox.messages[0]["Message-ID"]
        == f"<notification-{mail.pk}@" + inbox.messages[0]["Message-ID"].split("@", 1)[1]
    )
    task = DBTaskResult.objects.get(task_path="claimdesk.messaging.tasks.send_notification")
    assert task.status == TaskResultStatus.SUCCESSFUL


# --- webhook -------------------------------------------------------------------------------


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver that keeps the first POST waiting; it notes every delivery id."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.received: list[str] = []
        self.reached = threading.Event()
        self.release = threading.Event()


class _Hook(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
        self.rfile.read(int(self.headers["Content-Length"] or 0))
        self.server.received.append(self.headers["X-Claimdesk-Delivery"])
        if len(self.server.received) == 1:
            self.server.reached.set()
            self.server.release.wait(DEADLINE)
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:  # the sender is gone
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def test_a_webhook_whose_worker_was_killed_is_delivered_again_with_its_id(
    workers, seller, settings
) -> None:  # type: ignore[no-untyped-def]
    """No lock is held during the POST; after the kill the next worker delivers it, same id."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        with transaction.atomic():
            webhook_endpoint_create(
                actor=seller, url=url, events=[WebhookEvent.ORDER_STATUS_CHANGED]
            )
            webhook_emit(
                shop_id=seller.shop_id,
                event_type=WebhookEvent.ORDER_STATUS_CHANGED,
                data={"order_no": 1},
            )
        delivery = WebhookDelivery.objects.get()
        proc = workers.start()
        _until(receiver.reached.is_set, "the worker to POST")
        # the worker waits for the receiver with no transaction and no row lock
        with transaction.atomic():
            locked = WebhookDelivery.objects.select_for_update(nowait=True).get(pk=delivery.pk)
            assert locked.claimed_by.endswith(f":{proc.pid}")
        workers.kill(proc)
        receiver.release.set()
        _stuck("claimdesk.messaging.webhook_delivery.deliver_webhook")
        workers.once()
    finally:
        receiver.release.set()
        receiver.shutdown()
        receiver.server_close()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SUCCEEDED and not delivery.claimed_by
    assert receiver.received == [str(delivery.pk), str(delivery.pk)]
    assert delivery.attempt_log.count() == 1  # the killed worker recorded nothing


# --- push ----------------------------------------------------------------------------------


def test_a_push_whose_worker_was_killed_reaches_each_device_once(workers, seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """Killed while the provider takes the push: the next worker pushes to each device once."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    for token in ("phone-1", "tablet-2"):
        push_device_register(actor=buyer, token=token, platform="android")
    drain_tasks()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [PUSH_LOCK])
    try:
        note = note_send(
            actor=seller,
            order=order,
            category="shipping",
            title="発送予定",
            body="明日発送します。",
        )
        proc = workers.start()
        _until(lambda: _waiting_on_a_lock("advisory"), "the worker to call the push provider")
        workers.kill(proc)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PUSH_LOCK])
    _stuck("claimdesk.messaging.tasks.send_note_push")
    log = Path(workers.env["CLAIMDESK_TEST_PUSH_LOG"])
    assert not log.exists()
    workers.once()
    pushed = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(p["token"] for p in pushed) == ["phone-1", "tablet-2"]
    assert {p["note"] for p in pushed} == {note.pk}
    assert PushAttempt.objects.filter(note=note, ok=True).count() == 2


# --- bulk cancel ---------------------------------------------------------------------------


def _sheet(rows: list[list[object]]) -> io.BytesIO:
    book = Workbook()
    book.active.append(["order_no", "reason", "memo"])
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return data


def test_a_bulk_chunk_whose_worker_was_killed_is_finished_once(workers, seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """Killed in the middle of a chunk: nothing of it stays; the next worker cancels each order once."""
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    job = bulk_cancel_preview(
        actor=seller,
        upload=_sheet([[o.order_no, "OUT_OF_STOCK", ""] for o in orders]),
        filename="s.xlsx",
    )
    drain_tasks()
    bulk_cancel_confirm(actor=seller, job=job, confirm_without_notice=True)
    with transaction.atomic():
        # the chunk waits for this order's lock, after cancelling the one before it
        Order.objects.select_for_update().get(pk=orders[1].pk)
        proc = workers.start()
        _until(lambda: _waiting_on_a_lock("row"), "the worker to wait for the order's lock")
        workers.kill(proc)
    _stuck("claimdesk.claims.bulk.process_bulk_cancel")
    assert not Claim.objects.filter(order__in=orders).exists()  # the chunk rolled back
    workers.once()
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == 3
    for order in orders:
        assert Claim.objects.filter(order=order).count() == 1
    assert Notification.objects.filter(kind="bulk_cancel_done").count() == 1


# --- the sweep -----------------------------------------------------------------------------


def test_a_sweep_whose_worker_was_killed_is_taken_over_at_once(workers, seller, buyer) -> None:  # type: ignore[no-untyped-def]
    """Killed in the middle of the sweep: the next worker sweeps at once and cancels the order once."""
    order = order_in("unpaid", seller=seller, buyer=buyer)
    Cart.objects.filter(pk=order.cart_id).update(
        payment_deadline=timezone.now() - dt.timedelta(hours=1)
    )
    drain_tasks()
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        proc = workers.start()
        _until(lambda: _waiting_on_a_lock("row"), "the sweep to wait for the unpaid order")
        workers.kill(proc)
    order.refresh_from_db()
    assert order.cancelled_at is None
    workers.once()  # within the killed worker's sweep interval
    order.refresh_from_db()
    assert order.cancelled_at is not None
    assert Claim.objects.filter(order=order).count() == 1
