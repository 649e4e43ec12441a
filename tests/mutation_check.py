"""Mutation check: does some test fail when a guard of the claim or refund path is taken away?

The checkout is copied to a temporary directory; there, for each mutant below,
one source file is changed (one guard removed, inverted or widened), a chosen
fast set of tests runs (`-x`, SQLite), and the file is restored in a `finally`. A mutant is *killed* when
the tests fail; one that *survived* names a guard no test holds to account.

    .venv/bin/python tests/mutation_check.py              # every mutant
    .venv/bin/python tests/mutation_check.py --list       # their names
    .venv/bin/python tests/mutation_check.py NAME ...     # some of them

It prints a Markdown table (docs/testing.md keeps the last one) and exits 1
if a mutant survived. Never run it while editing the files it mutates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATES = "claimdesk/claims/states.py"
REFUNDS = "claimdesk/claims/refunds.py"
LEDGER = "claimdesk/payments/ledger.py"
PAYMENTS = "claimdesk/payments/services.py"

TABLE_TESTS = ("tests/test_guards.py", "tests/test_action_table.py")
GUARD_TESTS = ("tests/test_guards.py",)
MONEY_TESTS = ("tests/test_guards.py", "tests/test_money_rules.py")
RECOVERY_TESTS = (
    "tests/test_guards.py",
    "tests/test_refund_recovery.py",
    "tests/test_concurrency_sqlite.py",
)
ALL_ROLES = '{"seller", "buyer", "operator", "system"}'


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str  #: text replaced (must occur once); "" appends `new` to the file
    new: str
    tests: tuple[str, ...]


def _table_mutants() -> list[Mutant]:
    """For each action of the transition table: anyone may take it; it starts from any status."""
    sys.path.insert(0, str(ROOT))
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from claimdesk.claims.states import TRANSITIONS

    mutants = []
    for action in TRANSITIONS:
        mutants.append(
            Mutant(
                f"table:{action}:anyone",
                STATES,
                "",
                f"\nTRANSITIONS[{action!r}] = Transition("
                f"frozenset({ALL_ROLES}), TRANSITIONS[{action!r}].sources,"
                f" TRANSITIONS[{action!r}].targets)\n",
                TABLE_TESTS,
            )
        )
        mutants.append(
            Mutant(
                f"table:{action}:any_status",
                STATES,
                "",
                f"\nTRANSITIONS[{action!r}] = Transition(TRANSITIONS[{action!r}].roles,"
                f" frozenset(ClaimStatus.values), TRANSITIONS[{action!r}].targets)\n",
                TABLE_TESTS,
            )
        )
    return mutants


CODE_MUTANTS = [
    Mutant(
        "states:role_check",
        STATES,
        "    if role_of(actor) not in rule.roles:",
        "    if False:",
        TABLE_TESTS,
    ),
    Mutant(
        "states:status_check",
        STATES,
        "    if claim.status not in rule.sources:",
        "    if False:",
        TABLE_TESTS,
    ),
    Mutant(
        "states:target_check",
        STATES,
        "    if to not in rule.targets:",
        "    if False:",
        GUARD_TESTS,
    ),
    Mutant(
        "states:changed_meanwhile",
        STATES,
        "    if updated != 1:",
        "    if False:",
        GUARD_TESTS,
    ),
    Mutant(
        "refunds:refund_negative",
        REFUNDS,
        "    if breakdown.item.minor < 0 or breakdown.total.minor < 0:",
        "    if False:",
        MONEY_TESTS,
    ),
    Mutant(
        "refunds:refund_exceeds_paid",
        REFUNDS,
        "    if totals.refunded_minor + breakdown.item.minor > order.total_minor:",
        "    if False:",
        MONEY_TESTS,
    ),
    Mutant(
        "refunds:refund_exceeds_paid_off_by_one",
        REFUNDS,
        "    if totals.refunded_minor + breakdown.item.minor > order.total_minor:",
        "    if totals.refunded_minor + breakdown.item.minor >= order.total_minor:",
        MONEY_TESTS,
    ),
    Mutant(
        "refunds:refund_exists",
        REFUNDS,
        "    if totals.claim_refunded:",
        "    if False:",
        MONEY_TESTS,
    ),
    Mutant(
        "refunds:process_only_pending",
        REFUNDS,
        "        if refund is None or refund.status != RefundStatus.PENDING:\n            return refund",
        "        if refund is None:\n            return refund",
        RECOVERY_TESTS,
    ),
    Mutant(
        "refunds:answer_of_this_attempt",
        REFUNDS,
        "        if refund.status != RefundStatus.PENDING or refund.attempt != attempt:",
        "        if False:",
        RECOVERY_TESTS,
    ),
    Mutant(
        "refunds:retry_only_failed",
        REFUNDS,
        "        if locked.status != RefundStatus.FAILED:\n"
        "            raise DomainError(\n"
        '                "refund_not_failed",\n'
        '                _("Only a failed refund can be retried.',
        "        if False:\n"
        "            raise DomainError(\n"
        '                "refund_not_failed",\n'
        '                _("Only a failed refund can be retried.',
        RECOVERY_TESTS,
    ),
    Mutant(
        "refunds:retry_who",
        REFUNDS,
        '    require_role(actor, "operator", "system")\n    text = (reason or "").strip()\n'
        "    if len(text) > 1000:",
        '    text = (reason or "").strip()\n    if len(text) > 1000:',
        RECOVERY_TESTS,
    ),
    Mutant(
        "refunds:resolve_only_failed",
        REFUNDS,
        "        if locked.status != RefundStatus.FAILED:\n"
        "            raise DomainError(\n"
        '                "refund_not_failed",\n'
        '                _("Only a failed refund can be resolved by hand.',
        "        if False:\n"
        "            raise DomainError(\n"
        '                "refund_not_failed",\n'
        '                _("Only a failed refund can be resolved by hand.',
        RECOVERY_TESTS,
    ),
    Mutant(
        "refunds:resolve_who",
        REFUNDS,
        '    require_role(actor, "operator")\n    text = (reason or "").strip()\n    if not text',
        '    text = (reason or "").strip()\n    if not text',
        RECOVERY_TESTS,
    ),
    Mutant(
        "ledger:post_balanced",
        LEDGER,
        "    if any(totals.values()):\n"
        '        raise UnbalancedTransaction(f"{kind} does not balance: {dict(totals)}")\n'
        "    txn = ",
        "    txn = ",
        MONEY_TESTS,
    ),
    Mutant(
        "ledger:post_many_balanced",
        LEDGER,
        "        if any(totals.values()):\n"
        '            raise UnbalancedTransaction(f"{kind} does not balance: {dict(totals)}")\n'
        "    txns = ",
        "    txns = ",
        GUARD_TESTS,
    ),
    Mutant(
        "refund_post:destination",
        PAYMENTS,
        "    if refund.destination == RefundDestination.CARD:",
        "    if refund.destination != RefundDestination.CARD:",
        MONEY_TESTS,
    ),
]


def run(mutant: Mutant, root: Path) -> tuple[str, float]:
    """Apply `mutant` in `root`, run its tests, restore the file; return the outcome and seconds."""
    path = root / mutant.path
    original = path.read_text()
    if mutant.old:
        if original.count(mutant.old) != 1:
            raise SystemExit(f"{mutant.name}: the text to change is not in {mutant.path} once")
        mutated = original.replace(mutant.old, mutant.new)
    else:
        mutated = original + mutant.new
    started = time.monotonic()
    try:
        path.write_text(mutated)
        result = subprocess.run(  # noqa: S603 - our own test command
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
            cwd=root,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            check=False,
        )
    finally:
        path.write_text(original)
    return ("killed" if result.returncode != 0 else "survived"), time.monotonic() - started


def copy_of_the_tree() -> Path:
    """Copy the checkout (not .git, caches or node_modules) to a temporary directory.

    The mutants are made there, so that the checkout itself is never changed and
    tests run from it meanwhile see the real code.
    """
    target = Path(tempfile.mkdtemp(prefix="claimdesk-mutants-")) / "tree"
    shutil.copytree(
        ROOT,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", "node_modules", "__pycache__", "screenshots"),
    )
    return target


def main(argv: list[str]) -> int:
    mutants = _table_mutants() + CODE_MUTANTS
    if "--list" in argv:
        print("\n".join(m.name for m in mutants))
        return 0
    chosen = [m for m in mutants if not argv or m.name in argv]
    root = copy_of_the_tree()
    print("| mutant | file | tests | result | s |")
    print("|---|---|---|---|---|")
    survived = 0
    try:
        for mutant in chosen:
            outcome, seconds = run(mutant, root)
            survived += outcome == "survived"
            tests = ", ".join(Path(t).name for t in mutant.tests)
            print(
                f"| {mutant.name} | {mutant.path} | {tests} | {outcome} | {seconds:.0f} |",
                flush=True,
            )
    finally:
        shutil.rmtree(root.parent)
    print(f"\n{len(chosen) - survived} of {len(chosen)} mutants killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
