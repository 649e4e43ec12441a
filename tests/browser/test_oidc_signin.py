"""Sign-in and sign-out through the marketplace's OpenID Connect provider, in Chromium.

The provider is panva's oidc-provider on loopback (tests/oidc/), which requires
PKCE of every client; claimdesk is the live server on another host name.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import BuyerFactory, OperatorFactory, SellerFactory, ShopFactory
from tests.oidcprovider import oidc_fixture, oidc_provider_fixture  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _person(portal: str) -> tuple[Any, str]:
    """Return a person of the portal's role known to the marketplace, and what their page shows."""
    if portal == "my":
        buyer = BuyerFactory(external_id="mkt-b-77", display_name="購入者ナナ")
        return buyer, "購入者ナナ"
    if portal == "seller":
        staff = SellerFactory(external_id="mkt-s-77", shop=ShopFactory(name="ナナの店"))
        return staff, "ナナの店"
    operator = OperatorFactory(external_id="mkt-o-77", display_name="Operator Seven")
    return operator, "Operator Seven"


@pytest.mark.parametrize("portal", ["my", "seller", "console"])
def test_signs_in_with_the_provider_and_out_of_both(page: Any, oidc: Any, portal: str) -> None:
    """The button takes the person to the provider and back into the portal (code flow with
    PKCE); logging out ends the provider's session too, so the next sign-in asks again."""
    person, shown = _person(portal)
    authorizations: list[str] = []
    page.on(
        "request",
        lambda request: (
            authorizations.append(request.url)
            if request.url.startswith(f"{oidc.issuer}/auth?")
            else None
        ),
    )

    page.goto(f"/{portal}/login/")
    page.click("#oidc-sign-in")
    page.fill("#login", person.external_id)
    page.click("#sign-in")
    page.wait_for_url(f"**/{portal}/")

    assert shown in page.content()
    assert "code_challenge_method=S256" in authorizations[0]
    assert "code_challenge=" in authorizations[0]

    page.locator('header form[action$="/logout/"] button').click()
    page.wait_for_url(f"{oidc.issuer}/session/end**")
    page.click("#logout")
    page.wait_for_url(f"**/{portal}/login/")

    page.goto(f"/{portal}/")
    page.wait_for_url(f"**/{portal}/login/**")
    page.click("#oidc-sign-in")
    page.locator("#login").wait_for()  # the provider asks who it is again
    assert page.url.startswith(f"{oidc.issuer}/interaction/")
