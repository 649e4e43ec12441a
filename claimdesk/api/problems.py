"""Errors as RFC 9457 problem documents (application/problem+json).

Every refusal has a stable machine `code` (the `DomainError.code` of the
service that refused) and a human `detail` in the token owner's language.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Schema

from claimdesk.core.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"

#: DomainError.kind -> HTTP status.
STATUS_OF_KIND = {"state": 409, "input": 422, "not_found": 404, "forbidden": 403}


class Problem(Schema):
    """An error: `code` is stable and meant for programs, `detail` for people."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []


#: The error answers every operation may give (used in each route's `response=`).
ERRORS: dict[int, type[Problem]] = {
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    413: Problem,
    422: Problem,
    429: Problem,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def problem(
    status: int,
    code: str,
    detail: object,
    *,
    data: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """Return a problem+json response."""
    body = {
        "type": f"urn:claimdesk:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": str(detail),
        "data": _jsonable(data or {}),
        "errors": _jsonable(errors or []),
    }
    response = JsonResponse(
        body,
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def domain_problem(request: HttpRequest, error: DomainError) -> HttpResponse:
    """Turn a service's refusal into its problem response."""
    return problem(STATUS_OF_KIND.get(error.kind, 409), error.code, error.message, data=error.data)
