"""URLs of the Qoo10-compatible QAPI endpoint (/GMKT.INC.Front.QAPIService/)."""

from django.urls import path

from . import views

app_name = "qapi"
urlpatterns = [
    path("ebayjapan.qapi", views.endpoint, name="endpoint"),
    path("ebayjapan.qapi/", views.endpoint),
    path("ebayjapan.qapi/<str:method>", views.endpoint, name="method"),
]
