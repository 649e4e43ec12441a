"""URLs of the REST API (/api/v1): Ninja's views, each wrapped by the guard."""

from django.urls import URLPattern, URLResolver

from .guard import guarded
from .main import api

app_name = "api"


def _wrap(pattern: URLPattern | URLResolver) -> URLPattern | URLResolver:
    if isinstance(pattern, URLPattern):
        return URLPattern(
            pattern.pattern, guarded(pattern.callback), pattern.default_args, pattern.name
        )
    return pattern


urlpatterns = [_wrap(p) for p in api.urls[0]]
