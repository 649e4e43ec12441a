"""Background work of the payments app."""

from django.tasks import task

from claimdesk.core.tasks import REFUND_PRIORITY

from . import services


@task(queue_name="refunds", priority=REFUND_PRIORITY)
def process_refund(refund_id: int) -> None:
    """Send one pending refund to the gateway."""
    services.refund_process(refund_id=refund_id)
