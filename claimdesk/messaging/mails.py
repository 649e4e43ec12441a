"""The text of each notification, in the recipient's language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

#: kind -> (subject, body). Bodies use %(name)s placeholders filled from the context.
MAILS: dict[str, tuple[Promise, Promise]] = {
    "cancel_requested": (
        _("[claimdesk] Cancellation requested for order %(order_no)s"),
        _(
            "The buyer asked to cancel order %(order_no)s (%(item)s).\n"
            "Reason: %(reason)s\n\n"
            "Open Cancel / return / not received in the seller portal to approve it, "
            "or ship the order to decline the request."
        ),
    ),
    "buyer_cancelled_delayed": (
        _("[claimdesk] Order %(order_no)s was cancelled by the buyer"),
        _(
            "The buyer cancelled the delayed order %(order_no)s (%(item)s). "
            "The refund was made at once. Do not ship this order."
        ),
    ),
    "order_cancelled": (
        _("[claimdesk] Your order %(order_no)s was cancelled"),
        _(
            "Order %(order_no)s (%(item)s) was cancelled.\n"
            "Reason: %(reason)s\n"
            "Message from the shop: %(seller_memo)s\n\n"
            "The refund status is shown on My page under Cancellation / refund status."
        ),
    ),
    "claim_status_changed": (
        _("[claimdesk] Order %(order_no)s: %(status)s"),
        _(
            "The status of your request on order %(order_no)s (%(item)s) is now: %(status)s.\n%(memo)s"
        ),
    ),
    "cancel_request_rejected": (
        _("[claimdesk] Order %(order_no)s has been shipped"),
        _(
            "The shop shipped order %(order_no)s before it could be cancelled "
            "(carrier %(carrier)s, tracking no %(tracking_no)s). "
            "If you no longer want the item you can request a return after it arrives."
        ),
    ),
    "return_requested": (
        _("[claimdesk] Return requested for order %(order_no)s"),
        _(
            "The buyer requested a return of order %(order_no)s (%(item)s).\nReason: %(reason)s\n%(memo)s"
        ),
    ),
    "exchange_requested": (
        _("[claimdesk] Exchange requested for order %(order_no)s"),
        _(
            "The buyer requested an exchange of order %(order_no)s (%(item)s).\nReason: %(reason)s\n%(memo)s"
        ),
    ),
    "non_receipt_reported": (
        _("[claimdesk] Order %(order_no)s reported as not received"),
        _(
            "The buyer reports that order %(order_no)s (%(item)s) has not arrived. "
            "Answer by re-delivering or refunding in the seller portal."
        ),
    ),
    "claim_withdrawn": (
        _("[claimdesk] The request on order %(order_no)s was withdrawn"),
        _("The request on order %(order_no)s (%(item)s) was withdrawn.\n%(memo)s"),
    ),
    "claim_escalated": (
        _("[claimdesk] The claim on order %(order_no)s was escalated"),
        _(
            "The claim on order %(order_no)s (%(item)s) was not answered in time and "
            "has been passed to the customer center."
        ),
    ),
    "claim_overdue": (
        _("[claimdesk] The claim on order %(order_no)s is waiting for your answer"),
        _(
            "The claim on order %(order_no)s (%(item)s) is past its response time. Please answer it."
        ),
    ),
    "shipping_delayed": (
        _("[claimdesk] Shipping of order %(order_no)s is delayed"),
        _(
            "The shop expects to ship order %(order_no)s (%(item)s) on %(est_ship_date)s.\n%(memo)s\n"
            "You may cancel the order on My page while it is delayed."
        ),
    ),
    "delay_reminder": (
        _("[claimdesk] Order %(order_no)s is not shipped yet"),
        _(
            "Order %(order_no)s was paid %(business_days)s business days ago and is not shipped. "
            "Ship it or register a delay to avoid delay points."
        ),
    ),
    "delay_points": (
        _("[claimdesk] Delay points for order %(order_no)s"),
        _(
            "Order %(order_no)s is still not shipped. %(points)s delay points were added to your shop record."
        ),
    ),
    "restriction_imposed": (
        _("[claimdesk] Sales restriction until %(ends_at)s"),
        _("Your shop is restricted until %(ends_at)s: %(reason)s"),
    ),
    "restriction_lifted": (
        _("[claimdesk] Sales restriction lifted"),
        _("The sales restriction on your shop has ended."),
    ),
    "restriction_lifted_by_operator": (
        _("[claimdesk] Sales restriction lifted by the customer center"),
        _("The customer center lifted the sales restriction on your shop.\nReason: %(reason)s"),
    ),
    "refund_retried": (
        _("[claimdesk] The refund for order %(order_no)s is being sent again"),
        _(
            "The customer center sent the refund of %(amount)s for order %(order_no)s (%(item)s) "
            "to the payment company again (attempt %(attempt)s).\nReason: %(reason)s"
        ),
    ),
    "refund_resolved": (
        _("[claimdesk] The refund for order %(order_no)s was settled by the customer center"),
        _(
            "The card refund of %(amount)s for order %(order_no)s (%(item)s) could not be "
            "completed, so the customer center credited it to the buyer's platform balance "
            "instead.\nReason: %(reason)s"
        ),
    ),
    "refund_succeeded": (
        _("[claimdesk] Refund completed for order %(order_no)s"),
        _("%(amount)s for order %(order_no)s (%(item)s) was refunded to your %(destination)s."),
    ),
    "refund_failed": (
        _("[claimdesk] Refund for order %(order_no)s did not go through"),
        _(
            "The refund of %(amount)s for order %(order_no)s could not be completed yet. "
            "It will be tried again; you do not need to do anything."
        ),
    ),
    "unpaid_cancelled": (
        _("[claimdesk] Order %(order_no)s was cancelled: no payment"),
        _(
            "Order %(order_no)s (%(item)s) was cancelled because payment did not arrive by the deadline."
        ),
    ),
    "trade_completed": (
        _("[claimdesk] Order %(order_no)s is complete"),
        _("The trade for order %(order_no)s (%(item)s) is complete."),
    ),
    "note_received": (
        _("[claimdesk] New note about order %(order_no)s: %(title)s"),
        _(
            "%(sender)s sent you a note about order %(order_no)s (%(item)s).\n"
            "Category: %(category_label)s\n\n"
            "%(title)s\n\n%(body)s\n\n"
            "Attachments: %(attachments)s. Read the note and answer it in the order's thread."
        ),
    ),
    "inquiry_answered": (
        _("[claimdesk] The customer center answered your inquiry #%(inquiry)s"),
        _(
            "The customer center answered your inquiry #%(inquiry)s (%(subject)s).\n"
            "Status: %(status)s\n\n%(body)s\n\n"
            "Read the whole thread and answer it under Inquiries in the seller portal."
        ),
    ),
    "inquiry_closed": (
        _("[claimdesk] Your inquiry #%(inquiry)s was closed"),
        _("The customer center closed your inquiry #%(inquiry)s (%(subject)s)."),
    ),
    "bulk_cancel_done": (
        _("[claimdesk] Bulk cancellation finished: %(cancelled)s of %(total)s rows"),
        _(
            "The bulk cancellation of %(file)s has finished: %(cancelled)s cancelled, "
            "%(unchanged)s already cancelled, %(failed)s refused. "
            "Download the result sheet from Bulk cancellation in the seller portal."
        ),
    ),
}
