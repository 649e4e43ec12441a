"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("seller/", include("claimdesk.portals.seller.urls")),
    path("my/", include("claimdesk.portals.buyer.urls")),
    path("", include("claimdesk.portals.urls")),
]
