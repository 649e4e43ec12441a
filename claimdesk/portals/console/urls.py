"""URLs of the operator console."""

from django.urls import path

from claimdesk.portals.views import home

app_name = "console"
urlpatterns: list[object] = [path("", home, name="home")]
