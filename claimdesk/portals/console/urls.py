"""URLs of the operator console (customer center)."""

from django.urls import path

from . import platform, views

app_name = "console"
urlpatterns = [
    path("login/", views.OperatorLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.queue, name="home"),
    path("inquiries/<int:inquiry_id>/", views.inquiry, name="inquiry"),
    path("inquiries/<int:inquiry_id>/answer/", views.inquiry_answer, name="inquiry_answer"),
    path("inquiries/<int:inquiry_id>/assign/", views.inquiry_assign_view, name="inquiry_assign"),
    path("inquiries/<int:inquiry_id>/close/", views.inquiry_close_view, name="inquiry_close"),
    path("inquiries/files/<int:attachment_id>/", views.inquiry_file, name="inquiry_file"),
    path("claims/", views.claims, name="claims"),
    path("orders/<int:order_no>/", views.order, name="order"),
    path("orders/<int:order_no>/withdraw/", views.order_withdraw, name="order_withdraw"),
    path("orders/<int:order_no>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:order_no>/decide/", views.order_decide, name="order_decide"),
    path("refunds/", views.refunds, name="refunds"),
    path("refunds/<int:refund_id>/retry/", views.refund_retry_view, name="refund_retry"),
    path("refunds/<int:refund_id>/resolve/", views.refund_resolve_view, name="refund_resolve"),
    path("marketplace/", platform.platform, name="platform"),
    path("marketplace/action/", platform.platform_action, name="platform_action"),
    path("marketplace/import/", platform.platform_import, name="platform_import"),
    path("marketplace/template.xlsx", platform.platform_template, name="platform_template"),
    path("shops/", views.shops, name="shops"),
    path("shops/<str:code>/", views.shop, name="shop"),
    path("shops/<str:code>/restrict/", views.shop_restrict, name="shop_restrict"),
    path(
        "shops/<str:code>/restrictions/<int:restriction_id>/lift/",
        views.shop_lift,
        name="shop_lift",
    ),
]
