"""Shared helpers of the benchmark scripts: Django setup, timing, figures."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("BENCH_RESULTS", "var/bench"))


def setup_django() -> None:
    """Configure Django for a script run outside manage.py, on the bench database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.conf import settings

    name = str(settings.DATABASES["default"]["NAME"])
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(
            "benchmarks run on PostgreSQL: set DATABASE_URL=postgres://…/claimdesk_bench"
        )
    if "bench" not in name:
        raise SystemExit(f"refusing to benchmark on {name!r}: use the claimdesk_bench database")


@dataclass
class Figure:
    name: str
    runs: int
    median_ms: float
    p95_ms: float
    max_ms: float
    queries: int | None = None
    rows: int | None = None
    note: str = ""


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(
    name: str,
    func: Callable[[], Any],
    *,
    runs: int = 30,
    warmup: int = 3,
    queries: Callable[[], int] | None = None,
    note: str = "",
) -> Figure:
    """Run `func` `warmup` times, then `runs` times; return median/p95/max wall time in ms."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return Figure(
        name=name,
        runs=runs,
        median_ms=round(statistics.median(times), 1),
        p95_ms=round(percentile(times, 95), 1),
        max_ms=round(max(times), 1),
        queries=queries() if queries else None,
        note=note,
    )


def machine() -> dict[str, str]:
    """Describe where the figures were taken."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pg = subprocess.run(  # noqa: S603 - fixed command
            ["psql", "--version"],  # noqa: S607 - the client on PATH
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        pg = "?"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": _memory(),
        "python": platform.python_version(),
        "postgres_client": pg,
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) // 1024} MB"
    except OSError:
        pass
    return "?"


def save(name: str, payload: dict[str, Any], *, started: dict[str, str] | None = None) -> Path:
    """Write a benchmark's figures as JSON under var/bench/ and return the path.

    `started` is `machine()` taken when the run began (its load average is
    the one before the run); without it the machine is described now, after
    the run.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": started or machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=_plain))
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, Figure):
        return asdict(value)
    return str(value)


def table(figures: list[Figure]) -> str:
    """Return figures as a Markdown table."""
    lines = [
        "| case | median ms | p95 ms | max ms | SQL queries | rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        lines.append(
            f"| {f.name} | {f.median_ms} | {f.p95_ms} | {f.max_ms} | "
            f"{'' if f.queries is None else f.queries} | {'' if f.rows is None else f.rows} |"
        )
    return "\n".join(lines)
