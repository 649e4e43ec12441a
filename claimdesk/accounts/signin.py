"""Who a sign-in through the marketplace's identity provider is: matched, never created."""

from __future__ import annotations

from claimdesk.core.errors import Forbidden, NotFound
from claimdesk.core.i18n import lazy_text as _

from .models import Role, User

_UNKNOWN = {
    Role.BUYER: _(
        "The account you signed in with is not linked to a buyer here, so nothing was opened or created. Ask the marketplace's support to link it, or log in with your login and password."
    ),
    Role.SELLER: _(
        "The account you signed in with is not linked to the staff of any shop here, so nothing was opened or created. Ask your shop's owner or the marketplace to link it, or log in with your login and password."
    ),
    Role.OPERATOR: _(
        "The account you signed in with is not linked to a customer center operator here, so nothing was opened or created. Ask an administrator to link it, or log in with your login and password."
    ),
}


def user_for_sign_in(*, role: str, external_id: str, shop_external_id: str | None = None) -> User:
    """Return the active user of `role` whom the marketplace knows as `external_id`.

    Only the marketplace's id of the person counts (never an e-mail address), only
    within the role of the portal being signed into, and no account is ever created.
    For shop staff, `shop_external_id` (when the provider says which shop the person
    works for) must be the marketplace's id of the shop the staff login belongs to.
    """
    user = (
        User.objects.select_related("shop")
        .filter(role=role, external_id=external_id)
        .exclude(external_id="")
        .first()
    )
    if user is None:
        raise NotFound(
            "signin_unknown", _UNKNOWN.get(Role(role), _UNKNOWN[Role.BUYER]), {"role": role}
        )
    if not user.is_active:
        message = (
            _("Your shop staff login is switched off. Ask your shop's owner to switch it on again.")
            if role == Role.SELLER
            else _("This login is switched off. Ask an administrator to switch it on again.")
        )
        raise Forbidden("signin_inactive", message, {"role": role})
    if role == Role.SELLER and shop_external_id is not None:
        shop = user.shop
        if shop is None or shop.external_id != shop_external_id:
            raise Forbidden(
                "signin_wrong_shop",
                _(
                    "The marketplace says this account works for another shop than the one it is linked to here, so you were not signed in. Ask the marketplace to update the shop's staff, then sign in again."
                ),
                {"role": role},
            )
    return user
