"""URLs of the seller portal (J·QSM)."""

from django.urls import path

from . import bulk, inquiries, integrations, notes, record, views

app_name = "seller"
urlpatterns = [
    path("login/", views.SellerLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.home, name="home"),
    path("shipping/", views.shipping, name="shipping"),
    path("shipping/bulk/", views.bulk_ship, name="bulk_ship"),
    path("orders/<int:order_no>/", views.order_panel, name="order"),
    path("orders/<int:order_no>/confirm/", views.order_confirm, name="order_confirm"),
    path("orders/<int:order_no>/delay/", views.order_delay, name="order_delay"),
    path("orders/<int:order_no>/ship/", views.order_ship, name="order_ship"),
    path("orders/<int:order_no>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:order_no>/history/", views.history, name="history"),
    path("claims/", views.claims, name="claims"),
    path("claims/export.xlsx", views.claims_export, name="claims_export"),
    path("claims/<int:order_no>/", views.claim_panel, name="claim"),
    path(
        "claims/<int:order_no>/approve-cancel/",
        views.claim_approve_cancel,
        name="claim_approve_cancel",
    ),
    path(
        "claims/<int:order_no>/start-return/", views.claim_start_return, name="claim_start_return"
    ),
    path(
        "claims/<int:order_no>/accept-return/",
        views.claim_accept_return,
        name="claim_accept_return",
    ),
    path(
        "claims/<int:order_no>/complete-return/",
        views.claim_complete_return,
        name="claim_complete_return",
    ),
    path(
        "claims/<int:order_no>/convert-exchange/",
        views.claim_convert_exchange,
        name="claim_convert_exchange",
    ),
    path(
        "claims/<int:order_no>/approve-exchange/",
        views.claim_approve_exchange,
        name="claim_approve_exchange",
    ),
    path("claims/<int:order_no>/redeliver/", views.claim_redeliver, name="claim_redeliver"),
    path(
        "claims/<int:order_no>/refund-non-receipt/",
        views.claim_refund_non_receipt,
        name="claim_refund_non_receipt",
    ),
    path("orders/<int:order_no>/notes/", notes.note_dialog, name="note_dialog"),
    path("orders/<int:order_no>/notes/send/", notes.note_send, name="note_send"),
    path(
        "orders/<int:order_no>/notes/<int:note_id>/resend/", notes.note_resend, name="note_resend"
    ),
    path("notes/", notes.inbox, name="notes"),
    path("notes/attachments/<int:attachment_id>/", notes.attachment, name="note_attachment"),
    path("notes/replies/", notes.saved_replies, name="saved_replies"),
    path("settings/addresses/", views.addresses, name="addresses"),
    path("settings/staff/", views.staff, name="staff"),
    path("settings/api-tokens/", integrations.api_tokens, name="api_tokens"),
    path("settings/webhooks/", integrations.webhooks, name="webhooks"),
    path("inquiries/", inquiries.inquiry_list, name="inquiries"),
    path("inquiries/new/", inquiries.inquiry_new, name="inquiry_new"),
    path("inquiries/<int:inquiry_id>/", inquiries.inquiry_detail, name="inquiry"),
    path("inquiries/<int:inquiry_id>/answer/", inquiries.inquiry_answer, name="inquiry_answer"),
    path(
        "inquiries/files/<int:attachment_id>/",
        inquiries.inquiry_attachment,
        name="inquiry_attachment",
    ),
    path("bulk-cancel/", bulk.bulk_cancel, name="bulk_cancel"),
    path("bulk-cancel/template.xlsx", bulk.bulk_cancel_template, name="bulk_cancel_template"),
    path("bulk-cancel/<int:job_id>/", bulk.bulk_cancel_job, name="bulk_cancel_job"),
    path("bulk-cancel/<int:job_id>/start/", bulk.bulk_cancel_start, name="bulk_cancel_start"),
    path(
        "bulk-cancel/<int:job_id>/progress/",
        bulk.bulk_cancel_progress,
        name="bulk_cancel_progress",
    ),
    path(
        "bulk-cancel/<int:job_id>/result.xlsx", bulk.bulk_cancel_result, name="bulk_cancel_result"
    ),
    path("record/", record.record, name="record"),
]
