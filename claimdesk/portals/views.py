"""The placeholder home page and a health check."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from claimdesk.orders.selectors import platform_counts


def home(request: HttpRequest) -> HttpResponse:
    """Show what claimdesk is, the figures of the data loaded, and where to go."""
    return render(request, "portals/home.html", {"counts": platform_counts()})


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer whether the database is reachable (for load balancers)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
