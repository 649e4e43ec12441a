"""API tokens: created by shop staff, shown once, stored as a hash, revocable.

A REST token (`rest`) authenticates `Authorization: Bearer <token>` on
/api/v1; a QAPI seller key (`qapi`) authenticates the `GiosisCertificationKey`
header of the Qoo10-compatible endpoint. Either acts as the staff member who
created it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from claimdesk.core.errors import InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_short

from .models import ApiIdempotencyKey, ApiToken, ApiTokenKind, Role, User
from .roles import require_role

PREFIXES = {ApiTokenKind.REST: "cdk_", ApiTokenKind.QAPI: "cdq_", ApiTokenKind.PLATFORM: "cdp_"}


def _config(name: str, default: Any) -> Any:
    return settings.CLAIMDESK.get(name, default)


def _shop_id(actor: User) -> int:
    if actor.shop_id is None:
        raise NotFound("token_not_found", _("No such API token."))
    return actor.shop_id


def hash_key(raw: str) -> str:
    """Return the stored form of a raw key (the keys are random, so a plain hash suffices)."""
    return hashlib.sha256(raw.strip().encode()).hexdigest()


def api_token_create(
    *,
    actor: User,
    name: str,
    can_write: bool = False,
    kind: str = ApiTokenKind.REST,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token of the actor's shop; return it with the raw key, shown this once."""
    require_role(actor, Role.SELLER)
    if kind not in (ApiTokenKind.REST, ApiTokenKind.QAPI):
        raise InvalidInput("token_kind_invalid", _("Choose a REST token or a QAPI seller key."))
    label = clean_short(name, field="name")
    if expires_at is None and kind == ApiTokenKind.QAPI:
        expires_at = timezone.now() + dt.timedelta(days=int(_config("QAPI_KEY_DAYS", 365)))
    raw = PREFIXES[ApiTokenKind(kind)] + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        shop_id=_shop_id(actor),
        user=actor,
        kind=kind,
        name=label,
        prefix=raw[:10],
        key_hash=hash_key(raw),
        can_write=can_write,
        expires_at=expires_at,
    )
    return token, raw


def platform_token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Create a platform token (the marketplace's, no shop); return it with the raw key once."""
    require_role(actor, Role.OPERATOR)
    raw = PREFIXES[ApiTokenKind.PLATFORM] + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        shop=None,
        user=actor,
        kind=ApiTokenKind.PLATFORM,
        name=clean_short(name, field="name"),
        prefix=raw[:10],
        key_hash=hash_key(raw),
        can_write=True,
    )
    return token, raw


def platform_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a platform token; it stops working at once."""
    require_role(actor, Role.OPERATOR)
    return _revoke(actor, token_id, kind=ApiTokenKind.PLATFORM)


def _revoke(actor: User, token_id: int, **scope: Any) -> ApiToken:
    """Revoke the token `token_id` within `scope` (the same "not found" outside it)."""
    if not 0 < token_id < 2**63:
        raise NotFound("token_not_found", _("No such API token."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, **scope).first()
        if token is None:
            raise NotFound("token_not_found", _("No such API token."))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.revoked_by = actor
            token.save(update_fields=["revoked_at", "revoked_by"])
    return token


def platform_user() -> User:
    """Return the operator account that platform tokens made on the command line act as."""
    user, _created = User.objects.get_or_create(
        username="platform",
        defaults={
            "role": Role.OPERATOR,
            "display_name": "Marketplace",
            # The language of the API's refusals to tokens made on the command line.
            "language": "en",
            "password": "!",  # unusable: this account never signs in
        },
    )
    return user


def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a token of the actor's shop; it stops working at once."""
    require_role(actor, Role.SELLER)
    return _revoke(actor, token_id, shop_id=_shop_id(actor))


def api_token_lookup(raw: str | None) -> ApiToken | None:
    """Return the token whose raw key is `raw` (revoked or expired ones too), or None."""
    text = (raw or "").strip()
    if not text or len(text) > 200:
        return None
    return ApiToken.objects.select_related("user", "shop").filter(key_hash=hash_key(text)).first()


def api_token_usable(token: ApiToken | None) -> bool:
    """Return whether `token` may be used now: not revoked, not expired, owner still staff.

    A platform token's owner must still be an active operator.
    """
    if token is None or token.revoked_at is not None or token.is_expired():
        return False
    if not token.user.is_active:
        return False
    if token.kind == ApiTokenKind.PLATFORM:
        return token.user.is_operator and token.shop_id is None
    return token.user.is_seller and token.user.shop_id == token.shop_id


def api_token_touch(token: ApiToken) -> None:
    """Record the token's use, at most once a minute (a write per call would cost too much)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def qapi_key_issue(*, api_key: str | None, user_id: str, password: str) -> tuple[ApiToken, str]:
    """Issue a QAPI seller key for a staff login, as Qoo10's CreateCertificationKey does.

    `api_key` must be a usable key of the same shop (the one the integration
    was given in the seller settings); `user_id` and `password` are the
    staff member's login.
    """
    caller = api_token_lookup(api_key)
    user = User.objects.filter(username=(user_id or "").strip(), is_active=True).first()
    if (
        user is None
        or not user.check_password(password or "")
        or not user.is_seller
        or not api_token_usable(caller)
        or caller is None
        or caller.shop_id != user.shop_id
    ):
        raise InvalidInput(
            "credentials_invalid", _("The login, the password or the API key is wrong.")
        )
    return api_token_create(
        actor=user,
        name=f"QAPI {user.username}",
        can_write=caller.can_write,
        kind=ApiTokenKind.QAPI,
    )


#: How long a finished Idempotency-Key answer is kept for replay.
IDEMPOTENCY_KEEP = dt.timedelta(hours=24)


def idempotency_keys_purge(*, now: dt.datetime | None = None) -> int:
    """Delete Idempotency-Key records older than 24 hours; return how many (worker sweep)."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEEP
    deleted, _counts = ApiIdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
