"""Where note attachments live: outside the web root, behind Django's storage API.

If `settings.STORAGES` has a "note_attachments" alias (an S3 backend, say) it
is used; otherwise files go to `CLAIMDESK["NOTE_ATTACHMENT_ROOT"]`, by default
`MEDIA_ROOT/private`. Nothing serves that folder: attachments are streamed by
views that check the reader is a party of the order.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from .conf import option

STORAGE_ALIAS = "note_attachments"


def _build() -> Storage:
    if STORAGE_ALIAS in getattr(settings, "STORAGES", {}):
        return storages[STORAGE_ALIAS]
    root = option("NOTE_ATTACHMENT_ROOT") or Path(settings.MEDIA_ROOT) / "private"
    # base_url=None: the files have no public URL; only the attachment views serve them.
    return FileSystemStorage(location=str(root), base_url=None)


class _NoteStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = _build()


note_storage = _NoteStorage()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    """Forget the resolved storage when a test overrides where files go."""
    if setting in ("MEDIA_ROOT", "STORAGES", "CLAIMDESK"):
        note_storage._wrapped = empty  # type: ignore[assignment]
