"""A mixed load as a marketplace's after-sales desk feels it, stepped up until it hurts.

    DATABASE_URL=postgres://claimdesk:claimdesk@127.0.0.1:5432/claimdesk_bench \\
        flock /tmp/bench.lock .venv/bin/python -m bench.mixed \\
        [--steps 25,50,100,150,200,250,300] [--step-seconds 60] [--gunicorn-workers 3]
    .venv/bin/python -m bench.mixed --plot var/bench/mixed.json   # the figures, docs/benchmarks/

Starts gunicorn (`bench.api.Gunicorn`, loopback) and one `manage.py worker`
on the database of DATABASE_URL, then runs the user classes of
`bench/locustfile.py` with locust as a library (one process, gevent): the
sellers, buyers, integrations and the platform's intake batches described
there, with their think times. Before the run it makes what they act on:
sessions for the sellers of `--shops` typical shops and of the big shop and
for `--buyers` buyers, a QAPI key and a read token per shop, a platform
token, fresh paid orders for the cancels (`bench/fresh.py`) and shipped
orders without a claim for the returns.

The load is stepped: each step sets the number of users (spawned at
`--spawn-rate` per second) and holds it for `--step-seconds`; the figures of
a step are those of the requests that finished after its first quarter (at
most 15 s: the spawn and the new users' first requests). Per step and
request kind: count, errors, p50/p95/p99; per group (`page`, `action`,
`api`, `intake`) the same pooled; the CPU time of locust, gunicorn, the
worker and PostgreSQL as a share of the machine, and the load average. The
knee is the first step at which p95 of the pages passes 150 ms or of the
actions 250 ms.

After the load the worker drains the queue, and the run checks every refund
and mail of the orders it touched was done exactly once
(`bench.multiserver.exactly_once`: one refund per cancelled order, each card
refund seen once by the processor, each task claimed by one worker and
successful, no notification sent or written twice, the ledger balanced).
Figures go to `var/bench/mixed.json` (`--name`), with every request's finish
time and latency in 10-second windows for the figures.
"""

from __future__ import annotations

from gevent import monkey  # type: ignore[import-untyped]

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.api import ROOT, Gunicorn  # noqa: E402
from bench.common import RESULTS, machine, percentile, save  # noqa: E402

KNEE_MS = {"page": 150.0, "action": 250.0}
WINDOW_S = 10.0


def _setup(test_database: bool) -> None:
    from bench.common import setup_django

    if test_database:  # the smoke test's database (tests/test_bench_smoke.py)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
    else:
        setup_django()


def prepare(*, shops: int, buyers: int, orders_per_shop: int) -> dict[str, Any]:
    """Make the sessions, keys, tokens and order pools of the run's users (see the docstring)."""
    from django.db import connection
    from django.db.models import Exists, OuterRef
    from django.middleware.csrf import _get_new_csrf_string

    from bench.fresh import add_paid_orders
    from bench.multiserver import _session_cookie
    from claimdesk.accounts.models import ApiTokenKind, Shop, User
    from claimdesk.accounts.tokens import api_token_create, platform_token_create, platform_user
    from claimdesk.claims.models import Claim, ClaimStatus
    from claimdesk.messaging.models import NoteCategory
    from claimdesk.orders.models import Order
    from claimdesk.orders.selectors import SHIPPING_BOXES

    def person(user: User, **extra: Any) -> dict[str, Any]:
        return {"session": _session_cookie(user), "csrf": _get_new_csrf_string(), **extra}

    codes = [f"bench-s{n}" for n in range(1, shops + 1)]
    shop_rows = {s.code: s for s in Shop.objects.filter(code__in=[*codes, "bench-big"])}
    codes = [c for c in codes if c in shop_rows]
    owners = {u.shop_id: u for u in User.objects.filter(role="seller", username__endswith="-owner")}
    open_claim = Exists(Claim.objects.filter(order=OuterRef("pk"), is_open=True))
    data: dict[str, Any] = {
        "shipping_boxes": list(SHIPPING_BOXES),
        "claim_statuses": [int(s) for s in ClaimStatus.values],
        "note_category": NoteCategory.CANCEL_REFUND.value,
        "shops": {},
        "sellers": [],
        "big_sellers": [],
        "buyers": [],
        "qapi_keys": [],
        "rest_tokens": [],
    }
    for code in [*codes, "bench-big"]:
        shop = shop_rows[code]
        owner = owners[shop.pk]
        claims = list(
            Claim.objects.filter(shop=shop)
            .order_by("-requested_at")
            .values_list("order__order_no", flat=True)[:300]
        )
        returnable = list(
            Order.objects.filter(shop=shop, shipping_status__in=[4, 5], cancelled_at__isnull=True)
            .filter(~open_claim)
            .exclude(claims__isnull=False)
            .order_by("-ordered_at")
            .values_list("order_no", flat=True)[:orders_per_shop]
        )
        cancel = (
            add_paid_orders(code, orders_per_shop, seed=len(data["shops"]), analyze=False)
            if code != "bench-big"
            else []
        )
        data["shops"][code] = {
            "claims": claims or returnable or cancel,
            "cancel": cancel,
            "return": returnable,
        }
        if code == "bench-big":
            data["big_sellers"].append(person(owner, shop=code))
            continue
        data["sellers"].append(person(owner, shop=code))
        data["qapi_keys"].append(
            {
                "key": api_token_create(
                    actor=owner, name="bench mixed qapi", kind=ApiTokenKind.QAPI
                )[1]
            }
        )
        data["rest_tokens"].append(
            {"token": api_token_create(actor=owner, name="bench mixed rest", can_write=False)[1]}
        )
    people = list(
        User.objects.filter(role="buyer", username__startswith="bench-b").order_by("pk")[:buyers]
    )
    ids = [u.pk for u in people]
    instant: dict[int, list[int]] = defaultdict(list)
    confirmed: dict[int, list[int]] = defaultdict(list)
    per_shop = max(1, 8 * len(ids) // len(codes))
    for i, code in enumerate(codes):
        turn = ids[(i * per_shop) % len(ids) :] + ids[: (i * per_shop) % len(ids)]
        for pool, is_confirmed in ((instant, False), (confirmed, True)):
            numbers = add_paid_orders(
                code, per_shop, seed=1000 + i, confirmed=is_confirmed, buyer_ids=turn,
                analyze=False,
            )  # fmt: skip
            for n, no in enumerate(numbers):
                pool[turn[n % len(turn)]].append(no)
    with connection.cursor() as cur:
        cur.execute("ANALYZE orders_order")
        cur.execute("ANALYZE orders_cart")
    for user in people:
        data["buyers"].append(person(user, instant=instant[user.pk], confirmed=confirmed[user.pk]))
    data["platform_token"] = platform_token_create(
        actor=platform_user(), name="bench mixed intake"
    )[1]
    connection.close()
    return data


def _register_marketplace(base: str, token: str) -> None:
    """The marketplace's shops and buyers the intake batches name (as bench.intake sends them)."""
    import requests

    from bench.intake import BUYERS, SHOPS

    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    shops = [
        {"external_id": f"bench-mp-s{n}", "name": f"Marketplace shop {n}"} for n in range(SHOPS)
    ]
    response = s.post(f"{base}/api/v1/platform/shops", json={"shops": shops}, timeout=60)
    response.raise_for_status()
    for i in range(0, BUYERS, 1000):
        buyers = [
            {"external_id": f"bench-mp-b{n}", "display_name": f"Buyer {n}"}
            for n in range(i, min(BUYERS, i + 1000))
        ]
        response = s.post(f"{base}/api/v1/platform/buyers", json={"buyers": buyers}, timeout=60)
        response.raise_for_status()


class CpuSampler:
    """CPU seconds of locust (this process), gunicorn, the worker and PostgreSQL, and the machine.

    PostgreSQL is the backends serving the run's database (other databases'
    and the server's own processes count as others). A process that ended (a PostgreSQL backend, a restarted gunicorn worker)
    keeps the CPU time last seen of it, so the sums never go back.
    """

    def __init__(self, gunicorn_pid: int, worker_pid: int | None, database: str) -> None:
        import psutil  # type: ignore[import-untyped]

        self.database = f" {database} "
        self.psutil = psutil
        self.me = psutil.Process()
        self.gunicorn = psutil.Process(gunicorn_pid)
        self.worker = psutil.Process(worker_pid) if worker_pid else None
        self.procs: dict[int, Any] = {}
        self.last: dict[str, dict[int, float]] = {"gunicorn": {}, "postgres": {}}

    def _cpu(self, proc: Any) -> float | None:
        try:
            t = proc.cpu_times()
            return float(t.user + t.system)
        except self.psutil.Error:
            return None

    def _sum(self, part: str, procs: list[Any]) -> float:
        seen = self.last[part]
        for proc in procs:
            cached = self.procs.setdefault(proc.pid, proc)
            value = self._cpu(cached)
            if value is not None:
                seen[proc.pid] = max(value, seen.get(proc.pid, 0.0))
        return sum(seen.values())

    def sample(self) -> dict[str, float]:
        try:
            gunicorn = [self.gunicorn, *self.gunicorn.children(recursive=True)]
        except self.psutil.Error:
            gunicorn = []
        postgres = [
            p
            for p in self.psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and self.database in " ".join(p.info["cmdline"] or [])
        ]
        machine_t = self.psutil.cpu_times()
        return {
            "t": time.time(),
            "locust": self._cpu(self.me) or 0.0,
            "gunicorn": self._sum("gunicorn", gunicorn),
            "worker": (self._cpu(self.worker) or 0.0) if self.worker else 0.0,
            "postgres": self._sum("postgres", postgres),
            "machine_busy": float(
                machine_t.user + machine_t.system + machine_t.nice + getattr(machine_t, "irq", 0)
                + getattr(machine_t, "softirq", 0)
            ),
            "load1": os.getloadavg()[0],
        }  # fmt: skip


def _cpu_split(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Share of the machine's cores each part used between two samples, in %."""
    wall = (after["t"] - before["t"]) * (os.cpu_count() or 1)
    if wall <= 0:
        return {}
    split = {
        k: round(100 * (after[k] - before[k]) / wall, 1)
        for k in ("locust", "gunicorn", "worker", "postgres", "machine_busy")
    }
    split["others"] = round(
        split["machine_busy"]
        - split["locust"]
        - split["gunicorn"]
        - split["worker"]
        - split["postgres"],
        1,
    )
    return split


def _figures(rows: list[tuple[float, str, float, bool]]) -> dict[str, Any]:
    latencies = [ms for _t, _n, ms, _ok in rows]
    errors = sum(1 for row in rows if not row[3])
    if not latencies:
        return {"requests": 0, "errors": 0}
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
    }


def _group(name: str) -> str:
    return name.split(":", 1)[0]


def step_figures(rows: list[tuple[float, str, float, bool]], seconds: float) -> dict[str, Any]:
    by_kind: dict[str, list[tuple[float, str, float, bool]]] = defaultdict(list)
    by_group: dict[str, list[tuple[float, str, float, bool]]] = defaultdict(list)
    for row in rows:
        by_kind[row[1]].append(row)
        by_group[_group(row[1])].append(row)
    return {
        "requests_per_s": round(len(rows) / seconds, 1) if seconds else 0.0,
        "errors": sum(1 for r in rows if not r[3]),
        "groups": {g: _figures(v) for g, v in sorted(by_group.items())},
        "kinds": {k: _figures(v) for k, v in sorted(by_kind.items())},
    }


def windows(rows: list[tuple[float, str, float, bool]], t0: float) -> list[dict[str, Any]]:
    """p50/p95 per group in 10-second windows (for the latency-over-time figure)."""
    cells: dict[tuple[int, str], list[float]] = defaultdict(list)
    for t, name, ms, _ok in rows:
        cells[(int((t - t0) // WINDOW_S), _group(name))].append(ms)
    out = []
    for (n, group), values in sorted(cells.items()):
        out.append(
            {
                "t": n * WINDOW_S,
                "group": group,
                "requests": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p95_ms": round(percentile(values, 95), 1),
            }
        )
    return out


def knee(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The first step whose page p95 > 150 ms or action p95 > 250 ms; the last step under it."""
    below = None
    for step in steps:
        over = [
            f"{g} p95 {step['groups'][g]['p95_ms']} ms > {limit:.0f}"
            for g, limit in KNEE_MS.items()
            if step["groups"].get(g, {}).get("p95_ms", 0) > limit
        ]
        if over:
            return {"knee_users": step["users"], "why": over, "last_below_users": below}
        below = step["users"]
    return {"knee_users": None, "why": [], "last_below_users": below}


def _settle(timeout: float, worker_log: Path) -> tuple[float, int]:
    """Wait until the worker's first sweep is over and it has done the earlier tasks of people.

    A worker starts with the platform sweep, over a million orders a minute
    or two of work, and logs `sweep: …` when done. The run starts then, once
    no task of people's actions (refunds, mails) is left from before.
    The sweep's reminders wait below those (a first sweep over the generated
    database queues thousands); they are background work the run goes on with.
    """
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    began = time.time()
    left = 0
    while time.time() - began < timeout:
        swept = "sweep: " in worker_log.read_text(errors="replace")
        left = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"], priority__gte=0).count()
        if swept and not left:
            break
        doing = "drains" if swept else "sweeps"
        print(f"  the worker {doing}; {left} earlier tasks of people's actions", flush=True)
        time.sleep(5)
    background = DBTaskResult.objects.filter(status="READY", priority__lt=0).count()
    connection.close()
    print(f"  settled in {time.time() - began:.0f} s; {background} background tasks queued")
    return round(time.time() - began, 1), background


def _drain(order_nos: list[int], refunded: list[int], since: float, timeout: float) -> float:
    from bench.multiserver import _tasks_of
    from claimdesk.payments.models import Refund

    began = time.time()
    while time.time() - began < timeout:
        busy = [t for t in _tasks_of({None: order_nos}, since) if t.status in ("READY", "RUNNING")]
        pending = Refund.objects.filter(order__order_no__in=refunded, status="pending").exists()
        if not busy and not pending:
            break
        time.sleep(1)
    return round(time.time() - began, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import gevent
    from locust.env import Environment

    from bench import locustfile
    from bench.multiserver import exactly_once

    started = machine()
    _setup(args.test_database)
    began_prepare = time.time()
    locustfile.DATA.clear()
    locustfile.DATA.update(
        prepare(shops=args.shops, buyers=args.buyers, orders_per_shop=args.orders_per_shop)
    )
    locustfile.ACTED.clear()
    locustfile.POOL_EMPTY.clear()
    prepared_s = round(time.time() - began_prepare, 1)
    print(f"prepared in {prepared_s} s", flush=True)

    since = time.time()
    server = Gunicorn(args.gunicorn_workers, prefix="claimdesk-bench-mixed-", threads=args.threads)
    worker: subprocess.Popen[bytes] | None = None
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "CLAIMDESK_VAR_DIR": str(server.var),
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("MAIL_SMTP_HOST", None)
    rows: list[tuple[float, str, float, bool]] = []
    failures: dict[str, int] = defaultdict(int)
    steps: list[dict[str, Any]] = []
    samples: list[dict[str, float]] = []
    try:
        server.start()
        if args.worker:
            worker_log = open(server.var / "worker.log", "wb")  # noqa: SIM115 - closed below
            worker = subprocess.Popen(  # noqa: S603 - fixed command
                [sys.executable, "manage.py", "worker", "--interval", "0.2"],
                cwd=ROOT,
                env={**env, "LOG_LEVEL": "INFO"},  # its "sweep: …" line
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
        _register_marketplace(server.base, locustfile.DATA["platform_token"])
        settle_s, background = (
            _settle(args.settle_timeout, server.var / "worker.log")
            if worker is not None
            else (0.0, 0)
        )
        since = time.time()

        classes = locustfile.smoke_classes() if args.smoke else list(locustfile.USER_CLASSES)
        environment = Environment(user_classes=classes, host=server.base, catch_exceptions=True)

        def on_request(name: str, response_time: float, exception: Any, **_kw: Any) -> None:
            rows.append((time.time(), name, float(response_time), exception is None))
            if exception is not None:
                failures[f"{name}: {str(exception)[:160]}"] += 1

        environment.events.request.add_listener(on_request)
        runner = environment.create_local_runner()
        assert server.process is not None  # noqa: S101 - started above
        from django.conf import settings

        sampler = CpuSampler(
            server.process.pid,
            worker.pid if worker else None,
            str(settings.DATABASES["default"]["NAME"]),
        )
        t0 = time.time()

        def sample_forever() -> None:
            while True:
                samples.append(sampler.sample())
                gevent.sleep(WINDOW_S)

        sampling = gevent.spawn(sample_forever)
        for users in args.steps:
            step_began = time.time()
            before = sampler.sample()
            runner.start(users, spawn_rate=args.spawn_rate)
            gevent.sleep(args.step_seconds)
            step_ended = time.time()
            after = sampler.sample()
            settle = min(15.0, args.step_seconds / 4)
            mine = [r for r in rows if step_began + settle <= r[0] < step_ended]
            figures = step_figures(mine, step_ended - step_began - settle)
            step = {
                "users": users,
                "began_s": round(step_began - t0, 1),
                "ended_s": round(step_ended - t0, 1),
                "load1": round(os.getloadavg()[0], 2),
                "cpu_percent": _cpu_split(before, after),
                **figures,
            }
            steps.append(step)
            groups = "; ".join(
                f"{g} p50 {v.get('p50_ms')} p95 {v.get('p95_ms')} p99 {v.get('p99_ms')} "
                f"({v['requests']} req, {v['errors']} err)"
                for g, v in figures["groups"].items()
            )
            print(
                f"{users:4d} users: {figures['requests_per_s']} req/s, load {step['load1']}, "
                f"cpu {step['cpu_percent']}\n      {groups}",
                flush=True,
            )
        exceptions = [
            f"{e['count']} × {e['msg']} at {e['traceback'].strip().splitlines()[-1]}"
            for e in runner.exceptions.values()
        ]
        runner.quit()
        sampling.kill()
        load_ended = time.time()
        acted = {k: list(v) for k, v in locustfile.ACTED.items()}
        refunded = acted.get("seller_cancel", []) + acted.get("buyer_cancel", [])
        touched = sorted({n for nos in acted.values() for n in nos})
        drain_s = _drain(touched, refunded, since, args.drain_timeout)
        once = exactly_once(touched, since, refunded=refunded)
    finally:
        server.stop()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
            worker_log.close()
    return {
        "started": started,
        "cores": os.cpu_count(),
        "gunicorn_workers": args.gunicorn_workers,
        "gunicorn_threads": args.threads,
        "worker": bool(args.worker),
        "step_seconds": args.step_seconds,
        "spawn_rate": args.spawn_rate,
        "prepare_s": prepared_s,
        "settle_s": settle_s,
        "background_tasks_queued": background,
        "load_s": round(load_ended - t0, 1),
        "drain_s": drain_s,
        "steps": steps,
        "knee": knee(steps),
        "errors": sum(s["errors"] for s in steps),
        "errors_all": sum(1 for r in rows if not r[3]),
        "failures": dict(failures),
        "exceptions": exceptions,
        "requests_all": len(rows),
        "kinds_all": sorted({r[1] for r in rows}),
        "acted": {k: len(v) for k, v in acted.items()},
        "pool_empty": dict(locustfile.POOL_EMPTY),
        "exactly_once": {
            "ok": not once.problems,
            "problems": once.problems[:30],
            "orders_checked": len(touched),
            "refunds_checked": len(refunded),
            "tasks": once.tasks,
        },
        "windows": windows(rows, t0),
        "cpu_samples": [
            {"t": round(s["t"] - t0, 1), **{k: round(v, 2) for k, v in s.items() if k != "t"}}
            for s in samples
        ],
        "server_log": str(server.var / "gunicorn.log"),
    }


def plot(path: Path, out: Path) -> list[Path]:
    """Draw latency over time (p50/p95 per group) and users vs p95 from a run's JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    result = json.loads(path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    colours = {"page": "tab:blue", "action": "tab:red", "api": "tab:green", "intake": "tab:purple"}
    written = []

    fig, (ax, cpu_ax) = plt.subplots(
        2, 1, figsize=(10, 7.6), dpi=110, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]}
    )
    for group, colour in colours.items():
        cells = [w for w in result["windows"] if w["group"] == group and w["requests"] >= 5]
        if not cells:
            continue
        ts = [(w["t"] + WINDOW_S / 2) / 60 for w in cells]
        ax.plot(ts, [w["p95_ms"] for w in cells], color=colour, lw=1.6, marker=".",
                label=f"{group} p95")  # fmt: skip
        if group in ("page", "action"):
            ax.plot(ts, [w["p50_ms"] for w in cells], color=colour, lw=1, ls=":",
                    label=f"{group} p50")  # fmt: skip
    ax.axhline(150, color="tab:blue", lw=0.8, ls="--", alpha=0.7, label="page limit 150 ms")
    ax.axhline(250, color="tab:red", lw=0.8, ls="--", alpha=0.7, label="action limit 250 ms")
    ax.set_yscale("log")
    ax.set_ylim(10, max(3000, ax.get_ylim()[1]))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:g}"))
    for step in result["steps"]:
        ax.axvline(step["began_s"] / 60, color="grey", lw=0.6, alpha=0.5)
        ax.text(step["began_s"] / 60 + 0.05, 12, f"{step['users']}",
                fontsize=8, color="dimgrey")  # fmt: skip
    ax.set_ylabel("latency, ms (log scale)")
    ax.set_title(
        "Mixed load: p50 / p95 per request group over time (10-s windows; "
        "grey lines: a step starts, users below)",
        fontsize=10,
    )
    ax.legend(ncol=4, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    samples = result["cpu_samples"]
    cores = int(result.get("cores") or os.cpu_count() or 1)
    parts = [
        ("gunicorn", "tab:blue"),
        ("postgres", "tab:orange"),
        ("worker", "tab:brown"),
        ("locust", "tab:grey"),
    ]
    ts, shares = [], {name: [] for name, _c in parts} | {"others": []}
    for a, b in itertools.pairwise(samples):
        wall = (b["t"] - a["t"]) * cores
        if wall <= 0:
            continue
        ts.append((a["t"] + b["t"]) / 120)
        mine = 0.0
        for name, _c in parts:
            value = max(0.0, 100 * (b[name] - a[name]) / wall)
            shares[name].append(value)
            mine += value
        busy = 100 * (b["machine_busy"] - a["machine_busy"]) / wall
        shares["others"].append(max(0.0, busy - mine))
    if ts:
        cpu_ax.stackplot(
            ts,
            *[shares[name] for name, _c in parts],
            shares["others"],
            labels=[*(name for name, _c in parts), "other tenants of the machine"],
            colors=[*(c for _n, c in parts), "lightgrey"],
            alpha=0.85,
        )
    for step in result["steps"]:
        cpu_ax.axvline(step["began_s"] / 60, color="grey", lw=0.6, alpha=0.5)
    cpu_ax.set_ylim(0, 100)
    cpu_ax.set_ylabel(f"CPU, % of {cores} cores")
    cpu_ax.set_xlabel("minutes into the run")
    cpu_ax.legend(ncol=5, fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.28))
    cpu_ax.grid(alpha=0.3)
    fig.tight_layout()
    target = out / "mixed-latency-over-time.png"
    fig.savefig(target)
    plt.close(fig)
    written.append(target)

    fig, ax = plt.subplots(figsize=(10, 5), dpi=110)
    users = [s["users"] for s in result["steps"]]
    for group, colour in colours.items():
        if group == "intake":  # a batch of 50 carts: its own scale, in the table
            continue
        values = [s["groups"].get(group, {}).get("p95_ms") for s in result["steps"]]
        if any(v is not None for v in values):
            ax.plot(users, values, marker="o", color=colour, label=f"{group} p95")
    ax.axhline(150, color="tab:blue", lw=0.8, ls="--", alpha=0.6, label="page limit 150 ms")
    ax.axhline(250, color="tab:red", lw=0.8, ls="--", alpha=0.6, label="action limit 250 ms")
    kn = result["knee"]
    if kn.get("knee_users"):
        ax.axvline(
            kn["knee_users"], color="black", lw=0.8, ls=":", label=f"knee: {kn['knee_users']} users"
        )
    ax.set_ylim(0, None)
    ax.set_xticks(users)
    ax.set_xlabel("concurrent users (with think times)")
    ax.set_ylabel("p95 latency, ms")
    ax.set_title("Mixed load: users vs p95 per request group (intake batches: see the table)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    target = out / "mixed-users-vs-p95.png"
    fig.savefig(target)
    plt.close(fig)
    written.append(target)
    return written


def tables(result: dict[str, Any]) -> str:
    """The run's steps and request kinds as Markdown tables (for docs/benchmarks/mixed.md)."""

    def cell(figures: dict[str, Any] | None) -> str:
        if not figures or not figures.get("requests"):
            return "—"
        return f"{figures['p50_ms']:g} / {figures['p95_ms']:g} / {figures['p99_ms']:g}"

    lines = [
        "| users | req/s | pages p50 / p95 / p99 ms | actions | API | intake batch | errors "
        "| CPU % locust / gunicorn / worker / PostgreSQL / others (busy) | load 1 min |",
        "| ---: | ---: | --- | --- | --- | --- | ---: | --- | ---: |",
    ]
    for step in result["steps"]:
        g = step["groups"]
        c = step["cpu_percent"]
        lines.append(
            f"| {step['users']} | {step['requests_per_s']} | {cell(g.get('page'))} | "
            f"{cell(g.get('action'))} | {cell(g.get('api'))} | {cell(g.get('intake'))} | "
            f"{step['errors']} | {c['locust']} / {c['gunicorn']} / {c['worker']} / "
            f"{c['postgres']} / {c['others']} ({c['machine_busy']}) | {step['load1']} |"
        )
    kinds = sorted({k for step in result["steps"] for k in step["kinds"]})
    users = [step["users"] for step in result["steps"]]
    lines += [
        "",
        "| request kind (p50 / p95 / p99 ms) | " + " | ".join(f"{u} users" for u in users) + " |",
        "| --- |" + " --- |" * len(users),
    ]
    for kind in kinds:
        cells = []
        for step in result["steps"]:
            figures = step["kinds"].get(kind)
            text = cell(figures)
            if figures and figures.get("errors"):
                text += f" ({figures['errors']} err)"
            cells.append(text)
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--steps",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[25, 50, 100, 150, 200, 250, 300],
    )
    parser.add_argument("--step-seconds", type=float, default=60)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--shops", type=int, default=40)
    parser.add_argument("--buyers", type=int, default=120)
    parser.add_argument("--orders-per-shop", type=int, default=30)
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=600,
        help="wait this long at most for the worker to do the tasks queued before the run",
    )
    parser.add_argument("--no-worker", dest="worker", action="store_false")
    parser.add_argument("--name", default="mixed", help="the JSON's name under var/bench/")
    parser.add_argument(
        "--plot", type=Path, help="draw the figures of this JSON, print its tables and stop"
    )
    parser.add_argument("--figures", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--test-database", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one user of each class making each of its requests in turn (a check, not a load)",
    )
    args = parser.parse_args(argv)
    if args.plot:
        for written in plot(args.plot, args.figures):
            print(f"wrote {written}")
        print(tables(json.loads(args.plot.read_text())))
        return 0
    result = run(args)
    started = result.pop("started")
    path = save(args.name, result, started=started)
    kn = result["knee"]
    print(f"knee: {kn}; errors {result['errors_all']}; acted {result['acted']}; "
          f"pool empty {result['pool_empty']}; drained in {result['drain_s']} s")  # fmt: skip
    print(
        "every refund and mail done exactly once"
        if result["exactly_once"]["ok"]
        else "PROBLEMS:\n" + "\n".join(result["exactly_once"]["problems"])
    )
    print(f"figures saved to {path} (RESULTS={RESULTS})")
    for line in result["exceptions"]:
        print(f"user code failed: {line}")
    ok = result["exactly_once"]["ok"] and not result["errors_all"] and not result["exceptions"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
