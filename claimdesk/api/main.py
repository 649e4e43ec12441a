"""The REST API (/api/v1): one NinjaAPI, problem+json errors, documented idempotency."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from claimdesk.core.errors import DomainError
from claimdesk.core.i18n import lazy_text as _

from . import claims, orders, platform, webhooks
from .guard import IDEMPOTENCY_HEADER
from .problems import PROBLEM_CONTENT_TYPE, domain_problem, problem

DESCRIPTION = """
The claimdesk REST API: everything the seller portal does, for integrations.

* Authenticate with `Authorization: Bearer <token>`; create tokens in the
  seller settings (API tokens). A token has the `read` scope, and `write` if
  it may change data.
* Every state-changing call accepts an `Idempotency-Key` header: the same key
  and body replay the first answer (`Idempotent-Replayed: true`); the same key
  with another body is refused (422 `idempotency_key_reused`).
* Errors are `application/problem+json` with a stable `code` and a `detail`
  in the token owner's language: 409 wrong state, 422 bad input, 404 not found
  (also for another shop's objects), 403 forbidden, 429 rate limited (with
  `Retry-After`).
* Lists use cursor pagination: pass `next_cursor` back as `cursor`.
* The `/platform` routes are the marketplace's own (its shops, buyers,
  staff, orders and order events, and its webhooks for every shop): they
  need a platform token, which an operator creates in the console or with
  `manage.py platform_token create NAME`. Batches answer one result per row.
* Bodies are JSON in UTF-8 (422 otherwise) of at most 2.5 MB (413 otherwise);
  numbers are JSON integers and flags JSON booleans (`"100"` and `true` are not
  numbers). No text may hold NUL (U+0000): such a request gets 422.
* Rules between fields that the schema cannot state: a period (`date_from` to
  `date_to`) may span at most 90 days and not end before it starts.
"""


class ClaimdeskAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document says problem+json and Idempotency-Key."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for _key, model in platform.BATCH_MODELS.values():
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(found.pop("$defs", {}))
            components[model.__name__] = found
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content") or {}
                    if str(status).startswith(("4", "5")) and "application/json" in content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: content["application/json"]}
                if method in ("post", "put", "patch", "delete"):
                    operation.setdefault("parameters", []).append(
                        {
                            "in": "header",
                            "name": IDEMPOTENCY_HEADER,
                            "required": False,
                            "description": "replays the first answer to a repeated call",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        }
                    )
        return schema


api = ClaimdeskAPI(
    title="claimdesk API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return domain_problem(request, exc)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", [])],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors
    ]
    return problem(
        422, "invalid_input", _("Some fields are missing or malformed; see errors."), errors=errors
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        401,
        "unauthenticated",
        _("Send a valid API token: Authorization: Bearer <token>."),
        headers={"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(404, "not_found", _("No such resource."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # a body that is not JSON: bad input, as documented
        return problem(422, "invalid_input", _("The request body is not valid JSON."))
    return problem(exc.status_code, "http_error", exc.message)


api.add_router("", orders.router)
api.add_router("", claims.router)
api.add_router("", claims.notes_router)
api.add_router("", webhooks.router)
api.add_router("", platform.router)
