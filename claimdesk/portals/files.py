"""Serving private files to the parties allowed to read them."""

from __future__ import annotations

from django.http import FileResponse

from claimdesk.accounts.models import User
from claimdesk.messaging.access import access_attachment
from claimdesk.messaging.storage import note_storage


def attachment_response(user: User, attachment_id: object) -> FileResponse:
    """Stream a note file to a party of its order as a download of its checked type."""
    file = access_attachment(user, attachment_id)
    response = FileResponse(
        note_storage.open(file.file.name, "rb"),
        as_attachment=True,
        filename=file.name,
        content_type=file.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
