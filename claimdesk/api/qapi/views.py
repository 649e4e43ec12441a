"""The QAPI endpoint: one view for the POST form and the GET form."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from claimdesk.accounts.models import ApiToken, ApiTokenKind
from claimdesk.accounts.tokens import api_token_lookup, api_token_touch
from claimdesk.core.errors import DomainError

from .envelope import MESSAGES, Context, Params, QapiError, Result, render
from .errors import refusal
from .methods import METHODS

logger = logging.getLogger(__name__)

#: Answered, with HTTP 200 as always, when a method fails unexpectedly.
SYSTEM_ERROR = -99999


def _format(request: HttpRequest, params: Params) -> str:
    wanted = params.get("returnType") or request.headers.get("returnType", "")
    return "xml" if "xml" in wanted.lower() else "json"


def _authenticate(raw: str, *, writes: bool) -> ApiToken:
    token = api_token_lookup(raw)
    if token is None:
        raise QapiError(-10000)
    if token.revoked_at is not None:
        raise QapiError(-90005)
    if token.is_expired():
        raise QapiError(-90004)
    if (
        token.kind != ApiTokenKind.QAPI
        or not token.user.is_active
        or not token.user.is_seller
        or token.user.shop_id != token.shop_id
    ):
        raise QapiError(-90002)
    if writes and not token.can_write:
        raise QapiError(-90003)
    return token


@csrf_exempt
@require_http_methods(["GET", "POST"])
def endpoint(request: HttpRequest, method: str = "") -> HttpResponse:
    """Answer one QAPI call: always HTTP 200 with Qoo10's envelope."""
    params = Params(request)
    fmt = _format(request, params)
    name = (method or params.get("method")).strip()
    spec = METHODS.get(name.lower())
    if spec is None:
        return render(fmt, -90001, MESSAGES[-90001], None)
    key = request.headers.get("GiosisCertificationKey", "") or params.get("key")
    try:
        token = _authenticate(key, writes=spec.writes) if spec.needs_key else None
        # ResultMsg is fixed English; only a refusal's ResultDetail is in the owner's language
        language = token.user.language if token is not None else settings.LANGUAGE_CODE
        with translation.override(language):
            if token is not None:
                api_token_touch(token)
            try:
                result = spec.handler(Context(token=token, api_key=key), params)
            except DomainError as error:
                raise refusal(error, spec.family) from error
    except QapiError as error:
        default = Result(None, "String")
        return render(fmt, error.code, error.message, default, error.detail)
    except Exception:
        logger.exception("QAPI %s failed", spec.name)
        return render(fmt, SYSTEM_ERROR, "System error. Try again later.", Result(None, "String"))
    return render(fmt, 0, result.message, result)
