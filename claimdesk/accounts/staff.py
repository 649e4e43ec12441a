"""Services of a shop's staff logins."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from claimdesk.core.errors import InvalidInput, NotFound
from claimdesk.core.i18n import lazy_text as _
from claimdesk.core.validation import clean_short

from .models import Role, User
from .roles import require_role


def staff_create(
    *, actor: User, username: str, email: str, display_name: str, language: str, password: str
) -> User:
    """Add a staff login to the actor's shop."""
    require_role(actor, "seller")
    username = clean_short(username, field="username", max_length=150)
    if language not in dict(settings.LANGUAGES):
        raise InvalidInput("language_invalid", _("Choose Japanese, Chinese or English."))
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput("username_taken", _("This login is taken. Choose another one."))
    candidate = User(
        username=username, email=email.strip(), role=Role.SELLER, shop_id=actor.shop_id
    )
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise InvalidInput("password_weak", " ".join(str(m) for m in exc.messages)) from exc
    with transaction.atomic():
        candidate.display_name = display_name.strip()[:100]
        candidate.language = language
        candidate.set_password(password)
        candidate.save()
    return candidate


def staff_deactivate(*, actor: User, user_id: int) -> User:
    """Stop a staff login of the actor's shop from signing in (never the actor's own)."""
    require_role(actor, "seller")
    member = (
        User.objects.filter(pk=user_id, shop_id=actor.shop_id, role=Role.SELLER).first()
        if actor.shop_id is not None
        else None
    )
    if member is None:
        raise NotFound("staff_not_found", _("No such staff login in your shop."))
    if member.pk == actor.pk:
        raise InvalidInput(
            "staff_self", _("You cannot switch off your own login. Ask another staff member.")
        )
    member.is_active = False
    member.save(update_fields=["is_active"])
    return member
