"""The home page, the language switch and a health check."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_POST

from claimdesk.claims.selectors import platform_counts

from .common import CHOSEN_LANGUAGE_KEY, back_url


def home(request: HttpRequest) -> HttpResponse:
    """Show what claimdesk is, the figures of the data loaded, and where to go."""
    return render(request, "portals/home.html", {"counts": platform_counts()})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in user keeps the choice."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    user = request.user
    if user.is_authenticated and hasattr(user, "language"):
        user.language = language
        user.save(update_fields=["language"])
    else:
        # chosen before signing in: it wins over the account's saved language at sign-in
        request.session[CHOSEN_LANGUAGE_KEY] = language
    translation.activate(language)
    response = redirect(back_url(request, "/"))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax"
    )
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer whether the database is reachable (for load balancers)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
