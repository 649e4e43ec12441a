"""URLs of the buyer's My page."""

from django.urls import path

from . import notes, views

app_name = "buyer"
urlpatterns = [
    path("login/", views.BuyerLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.orders, name="orders"),
    path("orders/<int:order_no>/", views.order, name="order"),
    path("orders/<int:order_no>/cancel/", views.cancel_now, name="cancel_now"),
    path("orders/<int:order_no>/request-cancel/", views.request_cancel, name="request_cancel"),
    path("orders/<int:order_no>/return/", views.request_return, name="request_return"),
    path(
        "orders/<int:order_no>/not-received/", views.report_non_receipt, name="report_non_receipt"
    ),
    path("orders/<int:order_no>/withdraw/", views.withdraw, name="withdraw"),
    path("orders/<int:order_no>/receipt/", views.confirm_receipt, name="confirm_receipt"),
    path("refunds/", views.refunds, name="refunds"),
    path("balance/", views.balance, name="balance"),
    path("help/", views.customer_center, name="help"),
    path("notes/", notes.inbox, name="notes"),
    path("devices/", notes.devices, name="devices"),
    path("orders/<int:order_no>/notes/", notes.send, name="note_send"),
    path("notes/attachments/<int:attachment_id>/", notes.attachment, name="note_attachment"),
]
