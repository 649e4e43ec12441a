"""Bulk cancellation of 10,000 orders from one xlsx, end to end: upload, dry run, confirm, worker.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \
        .venv/bin/python -m bench.bulk [--orders 10000] [--workers 2] [--rows-per-sheet N]

Writes `--orders` fresh paid, new orders of shop `bench-s4` (`bench/fresh.py`;
not timed) and the xlsx sheet that cancels them (order_no, reason, memo): one
sheet, as the seller page takes up to `MAX_BULK_CANCEL_ROWS` (10,000) rows
(`--rows-per-sheet` splits them into smaller sheets). Then, timed as one run:

1. the seller uploads each sheet on /seller/bulk-cancel/ (Django test
   client, signed in as `bench-s4-owner`): the dry run checks every row;
   the dry-run page (its first page of rows) is fetched too;
2. the seller confirms each sheet (…/start/, "cancel without notice"
   ticked), which queues the `process_bulk_cancel` tasks of the sheet (a
   big sheet is shared by several tasks, hence by several workers);
3. `--workers` processes run those tasks exactly as `manage.py worker`
   does (claim the task row with SELECT … FOR UPDATE SKIP LOCKED, run it),
   taking only the bulk tasks: a real worker on this database would first
   run the platform sweep over a million orders and the backlog of
   reminder mails, which is not what is measured here. The refund and
   mail tasks each cancel queues are left for the ordinary workers and
   counted, not timed.

The clock stops when every sheet's job is DONE. Target: ≤ 60 s.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import sys
import time
from typing import Any

from bench.common import machine, save, setup_django

SHOP = "bench-s4"
TASK_PATH = "claimdesk.claims.bulk.process_bulk_cancel"


def _sheet(order_nos: list[int]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("cancel")
    sheet.append(["order_no", "reason", "memo"])
    for n, no in enumerate(order_nos):
        sheet.append([str(no), "OUT_OF_STOCK" if n % 3 else "在庫切れ", "bench"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _run_bulk_tasks(queue: Any) -> None:
    """One worker process: claim and run ready bulk-cancel tasks until none is left."""
    from django.db import connection, transaction
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from claimdesk.core.worker import worker_id

    connection.close()  # a fresh connection of this process
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id(),
        excluded_queue_names=[],
    )
    ran = 0
    while True:
        with transaction.atomic():
            task_result = (
                DBTaskResult.objects.ready()
                .filter(backend_name="default", task_path=TASK_PATH)
                .get_locked()
            )
            if task_result is None:
                break
            task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        ran += 1
    queue.put(ran)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows-per-sheet", type=int, default=0, help="default: the page's limit")
    args = parser.parse_args(argv)
    started = machine()
    setup_django()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client
    from django_tasks_db.models import DBTaskResult

    from bench.fresh import add_paid_orders
    from claimdesk.accounts.models import User
    from claimdesk.claims.bulk import MAX_BULK_CANCEL_ROWS
    from claimdesk.claims.models import BulkCancelJob, BulkCancelRow, BulkJobStatus

    owner = User.objects.get(username=f"{SHOP}-owner")
    print(f"writing {args.orders:,} paid orders of {SHOP} …", flush=True)
    order_nos = add_paid_orders(SHOP, args.orders, seed=int(time.time()))
    per_sheet = min(args.rows_per_sheet or MAX_BULK_CANCEL_ROWS, MAX_BULK_CANCEL_ROWS)
    sheets = [_sheet(order_nos[i : i + per_sheet]) for i in range(0, len(order_nos), per_sheet)]
    tasks_before = DBTaskResult.objects.count()
    client = Client()
    client.force_login(owner)

    began = time.perf_counter()
    jobs: list[int] = []
    for n, data in enumerate(sheets):
        upload = SimpleUploadedFile(
            f"bench-cancel-{n + 1}.xlsx",
            data,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response = client.post("/seller/bulk-cancel/", {"sheet": upload})
        if response.status_code != 302:
            raise SystemExit(f"upload {n + 1} answered {response.status_code}")
        job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
        jobs.append(job_id)
        page = client.get(response["Location"])
        if page.status_code != 200:
            raise SystemExit(f"dry-run page of job {job_id} answered {page.status_code}")
    previewed = time.perf_counter() - began
    for job_id in jobs:
        response = client.post(
            f"/seller/bulk-cancel/{job_id}/start/", {"confirm_without_notice": "on"}
        )
        if response.status_code != 302:
            raise SystemExit(f"confirm of job {job_id} answered {response.status_code}")
    confirmed = time.perf_counter() - began
    print(
        f"{len(sheets)} sheets uploaded and checked in {previewed:.1f} s, confirmed at "
        f"{confirmed:.1f} s; {args.workers} workers run them …",
        flush=True,
    )
    connection.close()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_run_bulk_tasks, args=(queue,)) for _ in range(args.workers)]
    for p in procs:
        p.start()
    ran = [queue.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    total = time.perf_counter() - began

    done = BulkCancelJob.objects.filter(pk__in=jobs, status=BulkJobStatus.DONE).count()
    results: dict[str, int] = {}
    for result in BulkCancelRow.objects.filter(job_id__in=jobs).values_list("result", flat=True):
        results[result or "-"] = results.get(result or "-", 0) + 1
    queued = DBTaskResult.objects.count() - tasks_before - len(jobs)
    print(
        f"{args.orders:,} orders in {len(sheets)} sheets: {total:.1f} s end to end "
        f"(dry runs {previewed:.1f} s, confirms {confirmed - previewed:.1f} s, "
        f"cancelling {total - confirmed:.1f} s); jobs done {done}/{len(jobs)}; "
        f"rows {results}; tasks per worker {ran}; {queued:,} refund/mail tasks queued",
        flush=True,
    )
    # what the sweep then does with the cancels' box-count tally rows (not part of the run)
    from claimdesk.claims.timers import compact_tallies

    fold_began = time.perf_counter()
    folded = compact_tallies()
    fold_seconds = time.perf_counter() - fold_began
    print(f"the sweep folded {folded:,} tally rows in {fold_seconds:.2f} s", flush=True)
    path = save(
        "bulk",
        {
            "orders": args.orders,
            "sheets": len(sheets),
            "rows_per_sheet": per_sheet,
            "workers": args.workers,
            "seconds_total": round(total, 1),
            "seconds_dry_runs": round(previewed, 1),
            "seconds_confirms": round(confirmed - previewed, 1),
            "seconds_cancelling": round(total - confirmed, 1),
            "jobs_done": done,
            "row_results": results,
            "tasks_per_worker": ran,
            "follow_up_tasks_queued": queued,
            "tally_rows_folded": folded,
            "seconds_tally_fold": round(fold_seconds, 2),
        },
        started=started,
    )
    print(f"figures saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
