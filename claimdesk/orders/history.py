"""Writing the order history, including refused money actions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from django.db import transaction

from claimdesk.accounts.roles import role_of
from claimdesk.core.errors import DomainError

from .models import Order, OrderEvent

if TYPE_CHECKING:
    from claimdesk.accounts.models import User
    from claimdesk.claims.models import Claim

P = ParamSpec("P")
R = TypeVar("R")


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
    """Append one line to `order`'s history."""
    return OrderEvent.objects.create(
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
                            data={"message": str(error.message), **_jsonable(error.data)},
                        )
                raise

        return wrapper

    return decorator


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v)
        for k, v in data.items()
    }
