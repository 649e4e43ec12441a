"""URLs of the Qoo10-compatible QAPI endpoint."""

app_name = "qapi"
urlpatterns: list[object] = []
