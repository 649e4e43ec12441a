"""The only way an interface layer gets an inquiry: scoped to who is asking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimdesk.core.errors import NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Inquiry, InquiryAttachment

if TYPE_CHECKING:
    from claimdesk.accounts.models import User


def _number(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return -1


def _not_found() -> NotFound:
    return NotFound("inquiry_not_found", _("No such inquiry."))


def access_inquiry_for_seller(user: User, inquiry_id: object) -> Inquiry:
    """Return the inquiry `inquiry_id` of the user's shop, or raise NotFound."""
    if not user.is_authenticated or not user.is_seller or user.shop_id is None:
        raise _not_found()
    inquiry = (
        Inquiry.objects.select_related("shop", "assigned_to", "opened_by")
        .filter(pk=_number(inquiry_id), shop_id=user.shop_id)
        .first()
    )
    if inquiry is None:
        raise _not_found()
    return inquiry


def access_inquiry_for_operator(user: User, inquiry_id: object) -> Inquiry:
    """Return any inquiry for an operator, or raise NotFound."""
    if not user.is_authenticated or not user.is_operator:
        raise _not_found()
    inquiry = (
        Inquiry.objects.select_related("shop", "assigned_to", "opened_by")
        .filter(pk=_number(inquiry_id))
        .first()
    )
    if inquiry is None:
        raise _not_found()
    return inquiry


def access_inquiry_attachment(user: User, attachment_id: object) -> InquiryAttachment:
    """Return an inquiry file to the shop that sent it or to an operator, or raise NotFound."""
    files = InquiryAttachment.objects.select_related("message__inquiry").filter(
        pk=_number(attachment_id)
    )
    if not user.is_authenticated:
        raise NotFound("attachment_not_found", _("No such file."))
    if user.is_seller and user.shop_id is not None:
        files = files.filter(message__inquiry__shop_id=user.shop_id)
    elif not user.is_operator:
        files = files.none()
    found = files.first()
    if found is None:
        raise NotFound("attachment_not_found", _("No such file."))
    return found
