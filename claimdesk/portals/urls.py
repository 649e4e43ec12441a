"""Portal URLs: the home page, the language switch, and each portal."""

from django.urls import path

from . import views

app_name = "portals"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.set_language, name="set_language"),
]
