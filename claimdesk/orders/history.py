"""Writing the order history, including refused money actions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy, pgettext_lazy

from claimdesk.accounts.roles import role_of
from claimdesk.core.bulk import insert_row, insert_rows
from claimdesk.core.errors import DomainError
from claimdesk.core.tasks import task_batch

from .models import Order, OrderEvent
from .signals import order_events_recorded

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.claims.models import Claim

P = ParamSpec("P")
R = TypeVar("R")

#: The running `history_batch()`, or None outside one.
_pending: ContextVar[HistoryBatch | None] = ContextVar("history_batch", default=None)


def record_event(
    order: Order,
    *,
    actor: User | None,
    kind: str,
    field: str = "",
    from_value: object = "",
    to_value: object = "",
    claim: Claim | None = None,
    reason: str = "",
    memo: str = "",
    data: dict[str, Any] | None = None,
    refused: bool = False,
) -> OrderEvent:
    """Append one line to `order`'s history (`order_events_recorded` makes its webhook event).

    Inside `history_batch()` the line is written when the batch ends.
    """
    event = OrderEvent(
        order=order,
        claim=claim,
        actor=actor,
        actor_role=role_of(actor),
        kind=kind,
        field=field,
        from_value="" if from_value is None else str(from_value),
        to_value="" if to_value is None else str(to_value),
        reason=reason,
        memo=memo,
        data=data or {},
        refused=refused,
    )
    batch = _pending.get()
    if batch is not None:
        batch.events.append(event)
        return event
    insert_row(event)
    order_events_recorded.send(sender=OrderEvent, events=[event])
    return event


class HistoryBatch:
    """The history lines of a running `history_batch()`, written when it ends."""

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []
        #: Shops whose lines need no webhook lookup: the action read, in this
        #: transaction, that they have no active endpoint.
        self.shops_without_webhooks: set[int] = set()


@contextmanager
def history_batch() -> Iterator[HistoryBatch]:
    """Write the history lines recorded in the block in one multi-row INSERT at its end.

    Use inside the action's transaction, after it has begun
    (`with transaction.atomic(), history_batch():`): when the block ends
    without an error, its lines and their webhook events (one endpoint lookup
    for all) are written, and so are the tasks it deferred
    (`core.tasks.task_batch()`), still inside that transaction; after an error
    nothing is written, as the transaction rolls back. Code in the block must
    not read its own history lines back, nor go on after an error rolled back
    a savepoint inside it.

    A batch inside a batch keeps its own lines and hands them to the outer one
    only when it ends without an error: to go on after a step that may fail,
    give the step its own savepoint and batch
    (`with transaction.atomic(), history_batch():`), and its lines go with
    its rollback. What is noted on the inner one's `shops_without_webhooks` is then
    ignored (the outer block may add an endpoint after the inner one read
    there was none).
    """
    outer = _pending.get()
    if outer is None and not transaction.get_connection().in_atomic_block:
        raise RuntimeError("history_batch() needs an open transaction")
    batch = HistoryBatch()
    with task_batch():  # the tasks the block defers, written the same way
        token = _pending.set(batch)
        try:
            yield batch
        finally:
            _pending.reset(token)
        if outer is not None:
            outer.events.extend(batch.events)
            return
        if batch.events:
            insert_rows(OrderEvent, batch.events)
            skip = batch.shops_without_webhooks
            order_events_recorded.send(
                sender=OrderEvent,
                events=[e for e in batch.events if e.order.shop_id not in skip],
            )


def records_refusal(
    kind: str, order_of: Callable[..., Order | None]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a money service so that a refusal is written to the history.

    The service's own transaction rolls back on refusal; the refusal line is
    written afterwards so that it survives. `order_of` gets the service's
    keyword arguments and returns the order concerned (or None if unknown).
    """

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except DomainError as error:
                if getattr(error, "history_recorded", False):
                    raise  # a service this one delegated to already wrote it
                try:
                    order = order_of(**kwargs)
                except DomainError:
                    order = None
                if order is not None and error.kind != "not_found":
                    error.history_recorded = True  # type: ignore[attr-defined]
                    actor = kwargs.get("actor")
                    with transaction.atomic():
                        record_event(
                            order,
                            actor=actor,  # type: ignore[arg-type]
                            kind=kind,
                            refused=True,
                            reason=error.code,
                            data={
                                "message": str(error.message),
                                "messages": _in_every_language(error.message),
                                **_jsonable(error.data),
                            },
                        )
                raise

        return wrapper

    return decorator


def _in_every_language(message: object) -> dict[str, str]:
    """Return `message` in each interface language, for whoever reads the line later."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(message)
    return texts


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v)
        for k, v in data.items()
    }


#: What each kind of history line says, for the timelines people read.
EVENT_LABELS: dict[str, Any] = {
    "order.placed": gettext_lazy("Order placed"),
    "order.paid": gettext_lazy("Payment received"),
    "order.confirmed": gettext_lazy("Order confirmed, ship date set"),
    "order.delayed": gettext_lazy("Shipping delay registered"),
    "order.shipped": gettext_lazy("Shipped"),
    "order.delivered": pgettext_lazy("history event", "Delivered"),
    "order.completed": gettext_lazy("Trade completed"),
    "order.cancelled": gettext_lazy("Order cancelled"),
    "order.returned": gettext_lazy("Order returned"),
    "order.delay_reminder": gettext_lazy("Shipping delay reminder sent"),
    "claim.opened.cancel": gettext_lazy("Cancel claim opened"),
    "claim.opened.return": gettext_lazy("Return claim opened"),
    "claim.opened.exchange": gettext_lazy("Exchange claim opened"),
    "claim.opened.non_receipt": gettext_lazy("Not-received report opened"),
    "claim.opened.unpaid_cancel": gettext_lazy("Unpaid order cancelled"),
    "claim.approve_cancel": gettext_lazy("Cancel request approved"),
    "claim.reject_by_shipping": gettext_lazy("Cancel request declined by shipping"),
    "claim.refund_succeeded": gettext_lazy("Cancel completed"),
    "claim.withdraw": gettext_lazy("Withdrawn by the buyer"),
    "claim.operator_withdraw": gettext_lazy("Withdrawn by the customer center"),
    "claim.accept_return": gettext_lazy("Return accepted"),
    "claim.complete_return": gettext_lazy("Return collected, refunded"),
    "claim.convert_to_exchange": gettext_lazy("Return turned into an exchange"),
    "claim.approve_exchange": gettext_lazy("Exchange approved"),
    "claim.redeliver": gettext_lazy("Re-delivery shipped"),
    "claim.complete_redelivery": gettext_lazy("Re-delivery received"),
    "claim.refund_non_receipt": gettext_lazy("Not received: refunded"),
    "claim.overdue": gettext_lazy("Claim past its response time"),
    "claim.escalated": gettext_lazy("Claim escalated to the customer center"),
    "refund.created": gettext_lazy("Refund recorded"),
    "refund.succeeded": gettext_lazy("Refund completed"),
    "refund.failed": gettext_lazy("Refund failed"),
    "refund.timeout": gettext_lazy("Refund: gateway timed out, will retry"),
    "refund.provider_pending": gettext_lazy("Refund accepted by the payment provider, pending"),
    "payment.disputed": gettext_lazy("Payment disputed by the buyer with the card issuer"),
    "refund.retried": gettext_lazy("Refund retried"),
    "refund.resolved": gettext_lazy("Refund resolved by the customer center"),
    "claim.operator_refund_return": gettext_lazy("Return refunded by the customer center"),
    "claim.operator_refund_non_receipt": gettext_lazy(
        "Not received: refunded by the customer center"
    ),
    # actions a refused line names (`records_refusal`)
    "claim.cancel_instantly": gettext_lazy("Cancel at once"),
    "claim.request_cancel": gettext_lazy("Cancel request"),
    "claim.seller_cancel": gettext_lazy("Cancel by the shop"),
    "claim.operator_cancel": gettext_lazy("Cancel by the customer center"),
    "claim.request_return": gettext_lazy("Return request"),
    "claim.seller_start_return": gettext_lazy("Return opened by the shop"),
    "claim.report_non_receipt": gettext_lazy("Not-received report"),
    "claim.operator_decide": gettext_lazy("Decision of the customer center"),
    "refund.retry": gettext_lazy("Refund retry"),
    "refund.resolve": gettext_lazy("Refund resolution"),
    "shop.penalty_added": gettext_lazy("Penalty points added to the shop"),
    "shop.restricted": gettext_lazy("Shop restricted"),
    "shop.restriction_lifted": gettext_lazy("Shop restriction lifted"),
}


def event_label(kind: str) -> str:
    """Return the readable label of a history line's kind (the kind itself if unknown)."""
    label = EVENT_LABELS.get(kind)
    return str(label) if label is not None else kind
