"""Sign-in with the marketplace's OpenID Connect provider, over real HTTP.

claimdesk runs as the live server; the provider is panva's oidc-provider in a
node process on loopback (tests/oidc/), which insists on PKCE. The browser
walk-throughs of the three portals, with sign-out, are in
tests/browser/test_oidc_signin.py.
"""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from claimdesk.accounts.models import User
from tests.factories import BuyerFactory, SellerFactory, ShopFactory, order_in
from tests.oidcprovider import oidc_fixture, oidc_provider_fixture, sign_in_over_http  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(base: str, session: requests.Session, path: str) -> bool:
    """Return whether the session opens the portal's home (not sent to its log-in page)."""
    return session.get(f"{base}/{path}/", allow_redirects=False, timeout=10).status_code == 200


def _refused(answer: requests.Response, code: str, status: int = 403) -> None:
    assert answer.status_code == status, answer.text[:2000]
    assert f'data-code="{code}"' in answer.text


def test_a_buyer_signs_in_by_marketplace_id_with_pkce_and_comes_back_to_the_page_asked_for(
    live_server, oidc
):
    """The buyer whose external_id is the subject lands on the page they asked for, as themself."""
    BuyerFactory(external_id="mkt-buyer-1", display_name="山田花子")
    BuyerFactory(external_id="mkt-buyer-2", display_name="別人")
    start = requests.get(f"{live_server.url}/my/oidc/start/", allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0]
    assert query["redirect_uri"] == [f"{live_server.url}/my/oidc/callback/"]

    session, answer = sign_in_over_http(
        live_server.url, "buyer", "mkt-buyer-1", next_url="/my/refunds/"
    )

    assert answer.status_code == 200
    assert answer.url == f"{live_server.url}/my/refunds/"
    assert "山田花子" in answer.text and "別人" not in answer.text
    assert _signed_in(live_server.url, session, "my")


def test_the_portal_decides_the_role_a_subject_signs_in_as(live_server, oidc):
    """The same marketplace id is a buyer on My page and another person in the seller portal;
    an id known only as a buyer does not open the seller portal or the console."""
    BuyerFactory(external_id="p-1", display_name="購入者ピー")
    SellerFactory(external_id="p-1", shop=ShopFactory(name="ピーの店"))
    BuyerFactory(external_id="buyer-only")

    _, as_buyer = sign_in_over_http(live_server.url, "buyer", "p-1")
    _, as_seller = sign_in_over_http(live_server.url, "seller", "p-1")
    wrong_portal, refused = sign_in_over_http(live_server.url, "seller", "buyer-only")
    wrong_console, refused_console = sign_in_over_http(live_server.url, "operator", "buyer-only")

    assert as_buyer.url == f"{live_server.url}/my/" and "購入者ピー" in as_buyer.text
    assert as_seller.url == f"{live_server.url}/seller/" and "ピーの店" in as_seller.text
    _refused(refused, "signin_unknown")
    _refused(refused_console, "signin_unknown")
    assert not _signed_in(live_server.url, wrong_portal, "seller")
    assert not _signed_in(live_server.url, wrong_portal, "my")
    assert not _signed_in(live_server.url, wrong_console, "console")


def test_staff_sign_into_their_own_shop_and_see_nothing_of_another(live_server, oidc):
    """Staff matched by their id work in their own shop; another shop's order is not found."""
    staff_a = SellerFactory(external_id="staff-a", shop=ShopFactory(name="エーの店"))
    staff_b = SellerFactory(external_id="staff-b", shop=ShopFactory(name="ビーの店"))
    order_b = order_in("new", seller=staff_b, buyer=BuyerFactory())

    session, answer = sign_in_over_http(live_server.url, "seller", "staff-a")

    assert answer.url == f"{live_server.url}/seller/"
    assert "エーの店" in answer.text and "ビーの店" not in answer.text
    other = session.get(f"{live_server.url}/seller/orders/{order_b.order_no}/", timeout=10)
    assert other.status_code == 404
    assert staff_a.shop_id != order_b.shop_id


def test_staff_the_marketplace_says_work_for_another_shop_are_refused(live_server, oidc, settings):
    """With a shop claim set, the provider's shop must be the staff login's shop here."""
    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "SHOP_CLAIM": "shop_id",
        "SCOPES": "openid marketplace",
    }
    SellerFactory(external_id="staff-moved", shop=ShopFactory(external_id="shop-A", name="エー"))
    ShopFactory(external_id="shop-B", name="ビー")
    oidc.add_account("staff-moved", shop_id="shop-B")

    moved, refused = sign_in_over_http(live_server.url, "seller", "staff-moved")

    _refused(refused, "signin_wrong_shop")
    assert not _signed_in(live_server.url, moved, "seller")

    oidc.add_account("staff-moved", shop_id="shop-A")
    session, answer = sign_in_over_http(live_server.url, "seller", "staff-moved")
    assert answer.url == f"{live_server.url}/seller/" and "エー" in answer.text


def test_an_unknown_subject_gets_a_clear_page_in_their_language_and_no_account(live_server, oidc):
    """Nobody with that id: a page in Chinese says so and what to do; no user is created."""
    users = User.objects.count()

    session, answer = sign_in_over_http(live_server.url, "buyer", "nobody-here", language="zh-hans")

    _refused(answer, "signin_unknown")
    assert "您登录所用的账号没有关联到这里的任何买家" in answer.text
    assert 'href="/my/login/"' in answer.text
    assert User.objects.count() == users
    assert not _signed_in(live_server.url, session, "my")


def test_an_email_address_alone_never_signs_anyone_in(live_server, oidc):
    """A subject equal to a buyer's e-mail address or login does not match that buyer."""
    buyer = BuyerFactory(username="hanako", email="hanako@example.com", external_id=None)

    _, by_email = sign_in_over_http(live_server.url, "buyer", buyer.email)
    _, by_login = sign_in_over_http(live_server.url, "buyer", buyer.username)

    _refused(by_email, "signin_unknown")
    _refused(by_login, "signin_unknown")


def test_switched_off_staff_are_refused_clearly(live_server, oidc):
    """A staff login the shop switched off does not sign in through the provider either."""
    SellerFactory(external_id="staff-off", is_active=False)

    session, answer = sign_in_over_http(live_server.url, "seller", "staff-off", language="en")

    _refused(answer, "signin_inactive")
    assert "Your shop staff login is switched off." in answer.text
    assert not _signed_in(live_server.url, session, "seller")


def test_an_id_token_issued_to_another_client_is_refused(live_server, oidc):
    """An ID token whose audience is another client signs nobody in, even for a known subject."""
    BuyerFactory(external_id="mkt-aud")
    oidc.tamper_next_id_token(aud="storefront")

    session, answer = sign_in_over_http(live_server.url, "buyer", "mkt-aud")

    _refused(answer, "signin_token_invalid", status=400)
    assert not _signed_in(live_server.url, session, "my")


def test_an_expired_id_token_is_refused(live_server, oidc):
    """An ID token that expired an hour ago signs nobody in."""
    BuyerFactory(external_id="mkt-exp")
    oidc.tamper_next_id_token(exp_offset=-3600)

    session, answer = sign_in_over_http(live_server.url, "buyer", "mkt-exp", language="en")

    _refused(answer, "signin_token_expired", status=400)
    assert "had already expired" in answer.text
    assert not _signed_in(live_server.url, session, "my")


def test_a_replayed_callback_signs_nobody_in(live_server, oidc):
    """The provider's answer works once, in the browser that asked for it."""
    BuyerFactory(external_id="mkt-replay")
    _, answer = sign_in_over_http(live_server.url, "buyer", "mkt-replay")
    callback = next(r.url for r in answer.history if "/my/oidc/callback/" in r.url)

    elsewhere = requests.Session()
    replayed = elsewhere.get(callback, timeout=10)

    _refused(replayed, "signin_stale", status=400)
    assert not _signed_in(live_server.url, elsewhere, "my")


def test_a_sign_in_cancelled_at_the_provider_says_so(live_server, oidc):
    """The provider's error answer is a page naming it, with a way to start again."""
    answer = requests.get(
        f"{live_server.url}/console/oidc/callback/",
        params={"error": "access_denied", "state": "x"},
        headers={"Accept-Language": "en"},
        timeout=10,
    )

    _refused(answer, "signin_cancelled")
    assert "access_denied" in answer.text
    assert 'href="/console/oidc/start/"' in answer.text


def test_an_unreachable_provider_is_a_clear_page(settings, db):
    """A provider that does not answer: a page says so and offers the password log-in."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "ISSUER": f"http://127.0.0.1:{port}",
        "CLIENT_ID": "claimdesk",
    }

    answer = Client(headers={"Accept-Language": "en"}).get("/seller/oidc/start/")

    assert answer.status_code == 502
    assert b'data-code="signin_provider_unreachable"' in answer.content
    assert b'href="/seller/login/"' in answer.content


@pytest.mark.parametrize(
    ("portal", "path"), [("buyer", "my"), ("seller", "seller"), ("operator", "console")]
)
def test_the_log_in_pages_offer_the_provider_only_when_one_is_set_up(settings, db, portal, path):
    """No provider: no button and no sign-in route. A provider: "Sign in with <name>"."""
    client = Client(headers={"Accept-Language": "en"})
    without = client.get(f"/{path}/login/?next=/{path}/x/")
    assert without.status_code == 200 and b"oidc-sign-in" not in without.content
    assert client.get(f"/{path}/oidc/start/").status_code == 404
    assert client.get(f"/{path}/oidc/callback/").status_code == 404

    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "ISSUER": "https://id.marketplace.example",
        "CLIENT_ID": "claimdesk",
        "PROVIDER_NAME": "Marketplace ID",
    }
    with_provider = client.get(f"/{path}/login/?next=/{path}/x/").content.decode()
    assert "Sign in with Marketplace ID" in with_provider
    assert f'href="/{path}/oidc/start/?next=%2F{path}%2Fx%2F"' in with_provider
    assert 'id="id_password"' in with_provider  # passwords stay

    settings.CLAIMDESK_OIDC = {**settings.CLAIMDESK_OIDC, "PORTALS": "buyer"}
    only_buyers = client.get(f"/{path}/login/").content
    assert (b"oidc-sign-in" in only_buyers) == (portal == "buyer")


def test_the_subject_claim_is_configurable(live_server, oidc, settings):
    """With SUBJECT_CLAIM=person_id the provider's person_id (from userinfo) names the buyer."""
    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "SUBJECT_CLAIM": "person_id",
        "SCOPES": "openid marketplace",
    }
    BuyerFactory(external_id="P-9", display_name="ピー九")
    BuyerFactory(external_id="login-9", display_name="ログイン九")
    oidc.add_account("login-9", person_id="P-9")

    _, answer = sign_in_over_http(live_server.url, "buyer", "login-9")

    assert answer.url == f"{live_server.url}/my/"
    assert "ピー九" in answer.text and "ログイン九" not in answer.text


def test_passwords_still_sign_in_with_a_provider_set_up(settings, seller):
    """Local passwords keep working next to the provider."""
    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "ISSUER": "https://id.marketplace.example",
        "CLIENT_ID": "claimdesk",
    }
    seller.set_password("pw-for-tests-123")
    seller.save()

    answer = Client().post(
        "/seller/login/", {"username": seller.username, "password": "pw-for-tests-123"}
    )

    assert answer.status_code == 302 and answer["Location"] == "/seller/"


def test_a_provider_that_does_not_send_the_subject_claim_is_refused_clearly(
    live_server, oidc, settings
):
    """Without the configured claim, nobody is matched (not even by the token's sub)."""
    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "SUBJECT_CLAIM": "person_id",
        "SCOPES": "openid marketplace",
    }
    BuyerFactory(external_id="no-person-id")

    session, answer = sign_in_over_http(live_server.url, "buyer", "no-person-id", language="en")

    _refused(answer, "signin_no_subject", status=400)
    assert "the claim person_id is missing" in answer.text
    assert not _signed_in(live_server.url, session, "my")
