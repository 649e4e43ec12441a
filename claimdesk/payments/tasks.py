"""Background work of the payments app."""

from django.tasks import task

from . import services


@task(queue_name="refunds")
def process_refund(refund_id: int) -> None:
    """Send one pending refund to the gateway."""
    services.refund_process(refund_id=refund_id)
