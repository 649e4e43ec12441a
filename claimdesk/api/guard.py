"""Token authentication, scopes, per-token rate limits and Idempotency-Key replay.

`guarded()` wraps every Django view of the API: it finds the Bearer token,
answers 429 when its rate is exceeded, switches to the owner's language and,
for a state-changing call with an `Idempotency-Key`, runs the call at most
once per key (insert-first into a table with a unique constraint) and replays
the stored answer to a repeated call. A key whose call never finished (the
process died) may be taken again after CLAIMDESK["API_IDEMPOTENCY_STALE_SECONDS"]
(60 s); records older than 24 hours are purged by the worker's sweep
(`claimdesk.accounts.tokens.idempotency_keys_purge`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.utils import timezone, translation
from ninja.security import HttpBearer

from claimdesk.accounts.models import ApiIdempotencyKey, ApiToken, ApiTokenKind, User
from claimdesk.accounts.tokens import api_token_lookup, api_token_touch, api_token_usable
from claimdesk.core.errors import Forbidden
from claimdesk.core.i18n import lazy_text as _
from claimdesk.orders.access import FOR_PAGE, access_order_for_seller
from claimdesk.orders.models import Order

from .problems import problem
from .schemas import BIG

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _token_of(request: HttpRequest) -> ApiToken | None:
    if hasattr(request, "api_token"):
        return request.api_token
    header = request.headers.get("Authorization", "")
    token = None
    if header[:7].lower() == "bearer ":
        found = api_token_lookup(header[7:])
        if (
            api_token_usable(found)
            and found is not None
            and found.kind in (ApiTokenKind.REST, ApiTokenKind.PLATFORM)
        ):
            token = found
    request.api_token = token  # type: ignore[attr-defined]
    return token


def _shop_token(request: HttpRequest) -> ApiToken | None:
    found = _token_of(request)
    if found is not None and found.kind == ApiTokenKind.PLATFORM:
        raise Forbidden(
            "platform_token",
            _(
                "A platform token opens only /api/v1/platform routes. Use a shop's token for the shop's routes."
            ),
            {"required_scope": "read"},
        )
    return found


class TokenAuth(HttpBearer):
    """A shop's bearer token with the `read` scope (every shop token has it)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return _shop_token(request)


class WriteTokenAuth(TokenAuth):
    """A shop's bearer token with the `write` scope."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = _shop_token(request)
        if found is not None and not found.can_write:
            raise Forbidden(
                "insufficient_scope",
                _("This token may only read. Create a token with the write scope in the settings."),
                {"required_scope": "write"},
            )
        return found


class PlatformTokenAuth(HttpBearer):
    """The marketplace's bearer token (scope `platform`); shop tokens are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = _token_of(request)
        if found is not None and found.kind != ApiTokenKind.PLATFORM:
            raise Forbidden(
                "insufficient_scope",
                _(
                    "This route needs a platform token (scope platform); a shop's token cannot use it. "
                    "An operator creates one in the console."
                ),
                {"required_scope": "platform"},
            )
        return found


read_auth = TokenAuth()
write_auth = WriteTokenAuth()
platform_auth = PlatformTokenAuth()


def actor_of(request: HttpRequest) -> User:
    """Return the staff member a request's token acts as."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return token.user


def seller_order(
    request: HttpRequest, order_no: int, *, related: tuple[str, ...] = FOR_PAGE
) -> Order:
    """Return the token shop's order `order_no`, or raise the same NotFound as for a stranger's.

    `related` as for `access_order_for_seller`: `FOR_ACTION` where the order only
    goes to an action's service.
    """
    number = order_no if 0 < order_no <= BIG else 0
    return access_order_for_seller(actor_of(request), number, related=related)


def _rate_limited(token: ApiToken) -> HttpResponse | None:
    config: dict[str, Any] = settings.CLAIMDESK
    limit = int(config.get("API_RATE_LIMIT_PER_MINUTE", 600))
    now = time.time()
    window = int(now // 60)
    key = f"claimdesk:api-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= limit:
        return None
    retry_after = max(1, 60 - int(now % 60))
    return problem(
        429,
        "rate_limited",
        _("Too many requests: at most %(limit)s a minute per token. Try again in %(seconds)s s.")
        % {"limit": limit, "seconds": retry_after},
        data={"limit": limit, "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _is_multipart(request: HttpRequest) -> bool:
    return (request.content_type or "").lower() == "multipart/form-data"


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\n" + request.get_full_path().encode() + b"\n")
    if not _is_multipart(request):
        digest.update(request.body)
        return digest.hexdigest()
    # Multipart (notes with attachments): hash the fields and the files' contents,
    # streamed, instead of the raw body (which may exceed DATA_UPLOAD_MAX_MEMORY_SIZE
    # and whose boundary differs between two sends of the same request).
    for name in sorted(request.POST):
        for value in request.POST.getlist(name):
            digest.update(f"{name}={value}\n".encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(f"{name}:{upload.name}:{upload.size}\n".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _replay(record: ApiIdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        record.response_body, status=record.status_code or 200, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _stale_after() -> dt.timedelta:
    config: dict[str, Any] = settings.CLAIMDESK
    return dt.timedelta(seconds=int(config.get("API_IDEMPOTENCY_STALE_SECONDS", 60)))


def _retake(record: ApiIdempotencyKey) -> bool:
    """Take over an unfinished key whose call died (older than the stale limit); True if won.

    The conditional update lets one of several callers retaking the same key win.
    """
    now = timezone.now()
    if record.created_at > now - _stale_after():
        return False
    won = ApiIdempotencyKey.objects.filter(
        pk=record.pk, status_code__isnull=True, created_at=record.created_at
    ).update(created_at=now)
    return won == 1


def _idempotent(
    view: Callable[..., HttpResponseBase],
    request: HttpRequest,
    token: ApiToken,
    key: str,
    args: Any,
    kwargs: Any,
) -> HttpResponseBase:
    if not key.strip() or len(key) > 255:
        return problem(
            422,
            "idempotency_key_invalid",
            _("An Idempotency-Key has 1 to 255 characters."),
        )
    digest = _request_hash(request)
    try:
        with transaction.atomic():
            record = ApiIdempotencyKey.objects.create(
                token=token,
                key=key,
                method=request.method or "",
                path=request.path[:500],
                request_hash=digest,
            )
    except IntegrityError:
        existing = ApiIdempotencyKey.objects.filter(token=token, key=key).first()
        if existing is not None and existing.request_hash != digest:
            return problem(
                422,
                "idempotency_key_reused",
                _(
                    "This Idempotency-Key was already used for another request. Use a new key for a new request."
                ),
            )
        if existing is not None and existing.status_code is not None:
            return _replay(existing)
        if existing is None or not _retake(existing):
            return problem(
                409,
                "idempotency_in_progress",
                _("A request with this Idempotency-Key is still running. Try again in a moment."),
                headers={"Retry-After": "1"},
            )
        record = existing
    try:
        response = view(request, *args, **kwargs)
    except BaseException:
        ApiIdempotencyKey.objects.filter(pk=record.pk).delete()
        raise
    if response.status_code >= 500 or response.status_code == 429 or response.streaming:
        ApiIdempotencyKey.objects.filter(pk=record.pk).delete()
        return response
    assert isinstance(response, HttpResponse)  # noqa: S101 - not streaming, checked above
    ApiIdempotencyKey.objects.filter(pk=record.pk).update(
        status_code=response.status_code,
        response_body=response.content.decode(response.charset or "utf-8"),
        content_type=response.get("Content-Type", "application/json"),
        completed_at=timezone.now(),
    )
    return response


class _NotUtf8(Exception):
    """The body of a JSON request is not UTF-8."""


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_nul(request: HttpRequest) -> bool:
    """Return whether text the database cannot store (NUL) arrives in the query or body."""
    if "\x00" in request.path or any("\x00" in v for v in request.GET.values()):
        return True
    if request.method not in UNSAFE_METHODS:
        return False
    if _is_multipart(request):
        fields = [v for name in request.POST for v in request.POST.getlist(name)]
        names = [f.name or "" for name in request.FILES for f in request.FILES.getlist(name)]
        return any("\x00" in v for v in [*fields, *names])
    body = request.body
    if not _is_utf8(body):
        raise _NotUtf8
    return b"\\u0000" in body or b"\x00" in body


def guarded(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap an API view with the token's rate limit, language and idempotency."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            has_nul = _has_nul(request)
        except MultiPartParserError:
            return problem(422, "invalid_input", _("The multipart/form-data body cannot be read."))
        except RequestDataTooBig:
            # Refused, not failed: Django would log it as an error with a traceback.
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
            return problem(
                413,
                "body_too_large",
                _(
                    "The request body is larger than %(size)s MB. Send less at once, "
                    "or attachments as multipart/form-data."
                )
                % {"size": round(limit / 1024 / 1024, 1)},
            )
        except _NotUtf8:
            return problem(
                422,
                "invalid_input",
                _("The request body is not text in UTF-8; send JSON in UTF-8."),
            )
        if has_nul:
            return problem(
                422, "invalid_input", _("The request contains a NUL character; remove it.")
            )
        token = _token_of(request)
        if token is None:
            return view(request, *args, **kwargs)
        with translation.override(token.user.language or settings.LANGUAGE_CODE):
            limited = _rate_limited(token)
            if limited is not None:
                return limited
            api_token_touch(token)
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if request.method in UNSAFE_METHODS and key is not None:
                return _idempotent(view, request, token, key, args, kwargs)
            return view(request, *args, **kwargs)

    return wrapper
