"""Compare claimdesk's card refunds and ledger with the payment provider's refund list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import stripe
from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.utils import timezone

from claimdesk.payments.reconcile import refunds_reconcile


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--since {text!r}: give a day as YYYY-MM-DD") from exc


class Command(BaseCommand):
    help = (
        "Compare the card refunds and their ledger postings since a day with the payment "
        "provider's refunds; print every difference (missing at the provider, unknown to "
        "claimdesk, amount mismatch) and keep the report for the console's refund monitor. "
        "Exits 1 when there are differences, so a scheduler can alert."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            help="first day to compare, YYYY-MM-DD (default: yesterday)",
        )

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        since = (
            _day(options["since"])
            if options["since"]
            else timezone.localdate() - dt.timedelta(days=1)
        )
        try:
            report = refunds_reconcile(since=since)
        except stripe.StripeError as exc:
            raise CommandError(f"the payment provider did not give its refund list: {exc}") from exc
        for d in report.differences:
            self.stdout.write(
                f"{d['kind']}: refund={d['refund'] or '-'} order={d['order_no'] or '-'} "
                f"key={d['key'] or '-'} reference={d['reference'] or '-'} "
                f"claimdesk={_amount(d['claimdesk_minor'])} "
                f"provider={_amount(d['provider_minor'])} "
                f"ledger={_amount(d.get('ledger_minor'))} {d['currency']}"
            )
        self.stdout.write(
            f"reconciled {report.provider} since {since}: {report.checked_local} claimdesk "
            f"card refunds, {report.checked_provider} provider refunds, "
            f"{len(report.differences)} differences"
        )
        if report.differences:
            raise SystemExit(1)


def _amount(value: int | None) -> str:
    return "-" if value is None else str(value)
