"""The database's own share of a cancel: the service's statements replayed by pgbench.

`bench.cancel` calls `replay()` after its service run. It records the exact
statements one card cancel and one balance cancel send as its workers send
them (the portal's read of the order, then the service, on two orders of the
generated data, with the values psycopg binds), turns them into a pgbench
script in which the order, its number, cart, buyer and every id a statement
returns are variables, and runs that script with the
same number of clients on a copy of the database (CREATE DATABASE …
TEMPLATE, dropped afterwards, so the replayed rows never mix with the
application's data). Each transaction takes the next paid, unshipped order
without a claim and replays the card or the balance statements by the
order's payment method.

The figure is the cancels per second these statements reach on this server
with no application work at all: pgbench's client is C and costs next to
nothing, so what is left is PostgreSQL parsing, planning, executing and
committing them (triggers and index upkeep included), each parsed and
planned on arrival as the shipped default sends them. The same statements
as one PL/pgSQL call per cancel (`as_function`) show what moving the cancel
into the database would give.
"""

from __future__ import annotations

import functools
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg.types.json

REPLAY_DB_SUFFIX = "_replay"

#: A uuid array as psycopg writes it, '{hex,hex}'::uuid[] (task ids of an UNNEST): each
#: replayed transaction needs ids of its own.
_UUID_ARRAY = re.compile(r"'\{([0-9a-f]{32}(?:,[0-9a-f]{32})*)\}'::uuid\[\]")
#: A uuid as psycopg writes it, 'hex'::uuid (a task id of a multi-row VALUES).
_UUID = re.compile(r"'[0-9a-f]{32}'::uuid(?!\[)")
#: psycopg types an integer array by its largest value ('{8423,8423}'::int2[]):
#: the replayed ids are larger, so every integer array becomes bigint.
_SMALL_INT_ARRAY = re.compile(r"'::int[24]\[\]")


def seller_cancel(actor: Any, order: Any) -> None:
    """The cancel bench.cancel times: out of stock, refund at once, no notice first."""
    from claimdesk.claims.cancel import claim_seller_cancel

    claim_seller_cancel(
        actor=actor,
        order=order,
        reason="OUT_OF_STOCK",
        seller_memo="在庫切れ",
        confirm_without_notice=True,
    )


def _record(order_id: int) -> list[str]:
    """Cancel `order_id` as bench.cancel's workers do; return the statements as pgbench lines.

    What is recorded is what a worker's timed loop sends: the portal's read of
    the order (`access_order_for_seller`), then the cancel through the service.

    Each statement is rendered with its values as literals (psycopg's
    ClientCursor.mogrify). A statement that returns one id stores it with
    pgbench's \\gset as `<table>_<n>_id`; the order, cart, buyer and shop, and
    those ids in the statements after the one that returned them, become
    variables, and so does the order's number: where they are a bound value,
    or a number in one (the task arguments' and the mail's JSON), never a
    number of the SQL text itself (`LIMIT 21`).
    Raises ValueError if two of those ids (or the seller's) are equal, as one
    could then not be told from the other.
    """
    import psycopg
    from django.db import connection

    from claimdesk.accounts.models import User
    from claimdesk.orders.access import FOR_ACTION, access_order_for_seller
    from claimdesk.orders.models import Order

    order = Order.objects.get(pk=order_id)
    actor = User.objects.filter(shop_id=order.shop_id, role="seller").order_by("pk")[0]
    recorded: list[tuple[str, str]] = []  # (statement, the gset prefix or "")
    returned: list[tuple[int, int, str]] = []  # (statement, id, variable)
    render = psycopg.ClientCursor(connection.connection)

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        # the ids known so far, as numbers no statement holds otherwise (see `_marked`)
        marks = {value: _MARK + n for n, value in enumerate(variables_before(len(recorded)))}
        marked = _marked(params, marks) if params is not None else None
        result = execute(sql, params, many, context)
        prefix = ""
        table = re.search(r'RETURNING "(\w+)"\."id"', sql)
        cursor = context["cursor"].cursor
        if table and not many and cursor.rowcount == 1:
            (value,) = cursor.fetchone()
            cursor.scroll(0, mode="absolute")  # leave the row for Django to read
            prefix = f"{table.group(1)}_{len(recorded)}_"
            returned.append((len(recorded), int(value), f"{prefix}id"))
        recorded.append((render.mogrify(sql, marked), prefix))
        return result

    given = {
        order.pk: "oid",
        order.order_no: "ono",
        order.cart_id: "cid",
        order.buyer_id: "bid",
        order.shop_id: "sid",
    }

    def variables_before(index: int) -> dict[int, str]:
        return {**given, **{value: name for at, value, name in returned if at < index}}

    with connection.execute_wrapper(wrapper):
        seller_cancel(actor, access_order_for_seller(actor, order.order_no, related=FOR_ACTION))
    # The seller's id is not replayed (the history keeps the recorded seller), so it must not
    # be taken for one that is, unless it is the shop's own (the generated shops' one seller
    # has the shop's id, and the candidate's seller then has the candidate's shop id too).
    values = [*given, *(value for _, value, _ in returned)]
    values += [actor.pk] if actor.pk != order.shop_id else []
    if len(set(values)) < len(values):
        raise ValueError(f"order {order_id}: two of its ids are equal, record another order")
    lines = []
    for index, (statement, prefix) in enumerate(recorded):
        text = _UUID_ARRAY.sub(_fresh_uuids, " ".join(statement.split()))
        text = _UUID.sub("gen_random_uuid()", text)
        text = _SMALL_INT_ARRAY.sub("'::int8[]", text)
        text = _MARKED.sub(
            functools.partial(_variable, list(variables_before(index).values())), text
        )
        lines.append(f"{text} \\gset {prefix}" if prefix else f"{text};")
    return lines


#: Ids stand in a recorded statement as `_MARK + n` (n: the variable's place), a number
#: no statement holds otherwise, then become pgbench variables.
_MARK = 7_770_000_000_000
_MARKED = re.compile(rf"(?<!\w){_MARK // 1000}(\d{{3}})(?!\w)")
_NUMBER = re.compile(r"(?<![\w.:])(?<![0-9]-)\d+(?!\w)(?![.:-][0-9])")


def _variable(names: list[str], mark: re.Match[str]) -> str:
    return f":{names[int(mark.group(1))]}"


def _marked(value: Any, marks: dict[int, int]) -> Any:
    """`value` (a statement's parameters) with each id in `marks` as its mark.

    An id inside a text value (JSON) is marked too: a number standing alone
    there, not part of a date, time or decimal.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return marks.get(value, value)
    if isinstance(value, str):
        return _NUMBER.sub(lambda m: str(marks.get(int(m.group()), m.group())), value)
    if isinstance(value, (list, tuple)):
        return type(value)(_marked(item, marks) for item in value)
    if isinstance(value, dict):
        return {key: _marked(item, marks) for key, item in value.items()}
    if isinstance(value, psycopg.types.json.Json | psycopg.types.json.Jsonb):
        return type(value)(_marked(value.obj, marks))
    return value


#: The pgbench script that runs `as_function`'s function once per transaction.
ONE_CALL = "SELECT bench_replay_cancel(nextval('bench_replay_next'));\n"

#: pgbench's variables in a script of `build_script` (a ":word" in a value stays as it is).
_VARIABLE = re.compile(r"(?<![:\w]):(k|oid|ono|cid|bid|sid|balance|[a-z_]+_\d+_id)(?!\w)")
_LITERAL = re.compile(r"(E'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')")


def as_function(script: str) -> str:
    """`build_script`'s script as one PL/pgSQL function, `bench_replay_cancel(k)`.

    The same statements in the same order, with pgbench's variables as the
    function's (inside a quoted value, the value is concatenated around
    them), `\\gset` as `INTO`, `\\if` as `IF`, and no per-statement round trip
    or planning: PL/pgSQL keeps each statement's plan for the session. This
    is what moving the cancel into the database would cost it.
    """

    def variables(text: str) -> str:
        out, pos = [], 0
        for quoted in _LITERAL.finditer(text):
            out.append(_VARIABLE.sub(r"v_\1", text[pos : quoted.start()]))
            out.append(_concatenated(quoted.group(0)))
            pos = quoted.end()
        return "".join([*out, _VARIABLE.sub(r"v_\1", text[pos:])])

    body = []
    for line in script.splitlines():
        if line.startswith("SELECT nextval") or line in ("", "BEGIN;", "END;"):
            continue
        if line.startswith("SELECT order_id AS oid"):
            line = (
                "SELECT order_id, order_no, cart_id, buyer_id, shop_id, balance "
                "INTO v_oid, v_ono, v_cid, v_bid, v_sid, v_balance "
                "FROM bench_replay_candidate WHERE k = p_k;"
            )
        elif line == "\\if :balance":
            line = "IF v_balance = 1 THEN"
        elif line in ("\\else", "\\endif"):
            line = "ELSE" if line == "\\else" else "END IF;"
        elif gset := re.search(r" \\gset (\w+)$", line):
            line = f"{variables(line[: gset.start()])} INTO v_{gset.group(1)}id;"
        else:
            line = re.sub(r' RETURNING "\w+"\."id";$', ";", variables(line))
            line = re.sub(r"^SELECT ", "PERFORM ", line)
        body.append(line)
    names = sorted(set(re.findall(r"\bv_(\w+)", "\n".join(body))))
    declare = "".join(f"  v_{name} bigint;\n" for name in names)
    return (
        "CREATE FUNCTION bench_replay_cancel(p_k bigint) RETURNS void LANGUAGE plpgsql AS $fn$\n"
        f"DECLARE\n{declare}BEGIN\n" + "\n".join(body) + "\nEND\n$fn$"
    )


def _concatenated(quoted: str) -> str:
    """A quoted SQL value with :variables in it as a concatenation around the variables."""
    if not _VARIABLE.search(quoted):
        return quoted
    opening = "E'" if quoted.startswith("E") else "'"
    inner = quoted[len(opening) : -1]
    parts, pos = [], 0
    for found in _VARIABLE.finditer(inner):
        parts += [f"{opening}{inner[pos : found.start()]}'", f"v_{found.group(1)}::text"]
        pos = found.end()
    return "(" + " || ".join([*parts, f"{opening}{inner[pos:]}'"]) + ")"


def _fresh_uuids(match: re.Match[str]) -> str:
    return "ARRAY[" + ", ".join(["gen_random_uuid()"] * (match.group(1).count(",") + 1)) + "]"


def record(order_ids: list[int]) -> tuple[list[str], list[int]]:
    """Record the first of `order_ids` whose ids are all different; return it and those tried."""
    for tried, order_id in enumerate(order_ids[:20], start=1):
        try:
            return _record(order_id), order_ids[:tried]
        except ValueError:
            continue
    raise SystemExit("no order to record the cancel's statements on: run bench.generate again")


def build_script(card: list[str], balance: list[str]) -> str:
    """A pgbench script that cancels the next candidate as a card or a balance order."""
    return "\n".join(
        [
            "SELECT nextval('bench_replay_next') AS k \\gset",
            "SELECT order_id AS oid, order_no AS ono, cart_id AS cid, buyer_id AS bid, "
            "shop_id AS sid, balance "
            "FROM bench_replay_candidate WHERE k = :k \\gset",
            "BEGIN;",
            "\\if :balance",
            *balance,
            "\\else",
            *card,
            "\\endif",
            "END;",
            "",
        ]
    )


def _load_candidates(order_ids: list[int]) -> int:
    """Write the candidates, numbered from 1, into a table of the benchmark database."""
    from django.db import connection, transaction

    from claimdesk.orders.models import Order, PaymentMethod

    rows = [  # in slices: PostgreSQL takes at most 65,535 values bound to one statement
        row
        for at in range(0, len(order_ids), 10_000)
        for row in Order.objects.filter(pk__in=order_ids[at : at + 10_000]).values_list(
            "pk", "order_no", "cart_id", "buyer_id", "shop_id", "cart__payment_method"
        )
    ]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_replay_candidate")
        cur.execute("DROP SEQUENCE IF EXISTS bench_replay_next")
        cur.execute("CREATE SEQUENCE bench_replay_next")
        cur.execute(
            "CREATE TABLE bench_replay_candidate (k integer PRIMARY KEY, order_id bigint, "
            "order_no bigint, cart_id bigint, buyer_id bigint, shop_id bigint, balance integer)"
        )
        with cur.cursor.copy(
            "COPY bench_replay_candidate "
            "(k, order_id, order_no, cart_id, buyer_id, shop_id, balance) FROM STDIN"
        ) as copy:
            for k, (pk, number, cart, buyer, shop, method) in enumerate(rows, start=1):
                balance = int(method != PaymentMethod.CARD)
                copy.write_row((k, pk, number, cart, buyer, shop, balance))
    return len(rows)


def _drop_candidates() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_replay_candidate")
        cur.execute("DROP SEQUENCE IF EXISTS bench_replay_next")


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - the bench's own commands
        command, capture_output=True, text=True, env=env, check=False
    )
    if done.returncode:
        raise SystemExit(f"{Path(command[0]).name} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def run_script(
    script: str,
    database: str,
    *,
    clients: int,
    transactions: int,
    pgbench: list[str],
    env: dict[str, str],
) -> str:
    """Run `script` with pgbench, `transactions` per client; return pgbench's report.

    The report ends with each command's mean latency (pgbench -r).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cancel.sql"
        path.write_text(script)
        jobs = str(min(clients, 2))
        return _run(
            [
                *pgbench,
                "-n",
                "-r",
                "-c",
                str(clients),
                "-j",
                jobs,
                "-f",
                str(path),
                "-t",
                str(transactions),
                database,
            ],
            env,
        )


def replay(
    order_ids: list[int],
    *,
    seconds: int,
    clients: int,
    pgbench: list[str],
    psql: list[str],
    env: dict[str, str],
) -> dict[str, Any]:
    """Replay the service's cancel statements with pgbench on a copy of the database.

    `order_ids` are paid, unshipped orders without a claim; the first card
    and the first balance one are cancelled through the service to record
    the statements (see `record`), the others are replayed (at most 200 a second per client
    for `seconds`, after 100 each to warm the copy). `pgbench` and `psql` are
    the commands with their connection arguments, without a database name,
    and `env` their environment (the password).

    Returns the replayed transactions per second, statement by statement as
    the service sends them (`tps`), and as one call of a PL/pgSQL function
    made of the same statements (`one_call_tps`, see `as_function`), each
    on a copy of its own, with the same orders.
    """
    from django.db import connection

    from claimdesk.orders.models import Order, PaymentMethod

    methods = dict(
        Order.objects.filter(pk__in=order_ids[:2000]).values_list("pk", "cart__payment_method")
    )
    card, used = record([pk for pk in order_ids if methods.get(pk) == PaymentMethod.CARD])
    balance, used_too = record(
        [pk for pk in order_ids if methods.get(pk, PaymentMethod.CARD) != PaymentMethod.CARD]
    )
    script = build_script(card, balance)
    recorded = {*used, *used_too}
    count = _load_candidates([pk for pk in order_ids if pk not in recorded])
    source = connection.settings_dict["NAME"]
    copy = source + REPLAY_DB_SUFFIX
    warm = min(100, count // (clients * 10))
    per_client = min((count - warm * clients) // clients, seconds * 200)

    def admin(statement: str, database: str = "postgres") -> None:
        _run([*psql, "-d", database, "-c", statement], env)

    def on_a_copy(script: str, setup: str = "") -> str:
        """Run `script` on a fresh copy of the database (after `setup`); return the report."""
        connection.close()  # CREATE DATABASE … TEMPLATE needs the source without sessions
        admin(f'DROP DATABASE IF EXISTS "{copy}"')
        try:
            admin(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
        except SystemExit as refused:
            _explain_other_sessions(source, refused)
        try:
            if setup:
                admin(setup, copy)
            # the first run warms the copy's buffers (none with too few candidates)
            for transactions in (warm, per_client) if warm else (per_client,):
                out = run_script(
                    script,
                    copy,
                    clients=clients,
                    transactions=transactions,
                    pgbench=pgbench,
                    env=env,
                )
        finally:
            admin(f'DROP DATABASE IF EXISTS "{copy}"')
        return out

    try:
        statements = on_a_copy(script)
        one_call = on_a_copy(ONE_CALL, setup=as_function(script))
    finally:
        _drop_candidates()
        connection.close()
    return {
        "tps": _tps(statements),
        "one_call_tps": _tps(one_call),
        "transactions": per_client * clients,
        "clients": clients,
        "slowest_ms": slowest_commands(statements),
    }


def _explain_other_sessions(database: str, refused: SystemExit) -> None:
    """Re-raise `refused`, naming the other sessions on `database` if there are any.

    PostgreSQL copies a database only while no one else is connected to it
    (it waits 5 seconds for them to leave).
    """
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT concat_ws(' ', pid, coalesce(nullif(application_name, ''), '-'), "
            "coalesce(client_addr::text, 'local'), state) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        others = [row[0] for row in cur.fetchall()]
    connection.close()
    if not others:
        raise refused
    raise SystemExit(
        f"the replay copies {database} (CREATE DATABASE … TEMPLATE), which PostgreSQL "
        "refuses while other sessions are connected to it (pid, application, client, "
        f"state): {'; '.join(others)}\nClose them and run again, or pass --no-replay."
    ) from refused


def _tps(report: str) -> float:
    return round(float(re.search(r"tps = ([\d.]+)", report).group(1)), 1)  # type: ignore[union-attr]


def slowest_commands(report: str, count: int = 6) -> dict[str, float]:
    """The `count` commands of a pgbench -r report with the highest mean latency (ms)."""
    slowest: dict[str, float] = {}
    for m in re.finditer(r"^\s+([\d.]+)\s+\d+\s+(\S.*)$", report, re.MULTILINE):
        text = " ".join(m.group(2).split()[:6])[:60]  # the card's and balance's alike share one
        slowest[text] = max(slowest.get(text, 0.0), float(m.group(1)))
    return dict(sorted(slowest.items(), key=lambda item: -item[1])[:count])
