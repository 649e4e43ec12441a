"""POST /payments/stripe/webhook: Stripe's notifications about refunds and disputes."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from claimdesk.claims.provider_events import provider_notice_apply
from claimdesk.core.errors import DomainError
from claimdesk.payments.notifications import stripe_notice_read

from .problems import problem

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify a Stripe notification and apply it once; 400 when its signature is wrong.

    Every verified event is answered 200, including those claimdesk does not
    act on and replays, so that Stripe stops delivering them.
    """
    try:
        event_id, kind, notice = stripe_notice_read(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except DomainError as error:
        return problem(400, error.code, error.message)
    outcome = provider_notice_apply(event_id=event_id, kind=kind, notice=notice)
    logger.info("stripe event %s (%s): %s", event_id, kind, outcome)
    return JsonResponse({"id": event_id, "type": kind, "outcome": outcome})
