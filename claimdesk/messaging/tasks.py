"""Background work of the messaging app."""

from django.tasks import task

from . import services


@task(queue_name="mail")
def send_notification(notification_id: int) -> None:
    """Send one queued mail."""
    services.notification_send(notification_id=notification_id)


@task(queue_name="default")
def send_note_push(note_id: int) -> None:
    """Push one note to the recipient's registered devices."""
    services.note_push_send(note_id=note_id)
