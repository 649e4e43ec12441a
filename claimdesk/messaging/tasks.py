"""Background work of the messaging app: the tasks run the delivery and queue its retries."""

from django.tasks import task

from claimdesk.core.tasks import defer_at

from . import delivery


@task(queue_name="mail")
def send_notification(notification_id: int) -> None:
    """Send one queued mail; after a failed attempt, queue the next one."""
    retry_at = delivery.notification_send(notification_id=notification_id)
    if retry_at is not None:
        defer_at(send_notification, retry_at, notification_id)


@task(queue_name="default")
def send_note_push(note_id: int) -> None:
    """Push one note to the recipient's registered devices; queue a retry of those that failed."""
    retry_at = delivery.note_push_send(note_id=note_id)
    if retry_at is not None:
        defer_at(send_note_push, retry_at, note_id)
