"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from claimdesk.api.provider_webhooks import stripe_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("claimdesk.portals.oidc.urls")),
    path("seller/", include("claimdesk.portals.seller.urls")),
    path("my/", include("claimdesk.portals.buyer.urls")),
    path("console/", include("claimdesk.portals.console.urls")),
    path("api/v1/", include("claimdesk.api.urls")),
    path("payments/stripe/webhook", stripe_webhook, name="stripe_webhook"),
    path("GMKT.INC.Front.QAPIService/", include("claimdesk.api.qapi.urls")),
    path("", include("claimdesk.portals.urls")),
]
