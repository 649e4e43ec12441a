"""The users of the mixed load (`bench/mixed.py`): an after-sales desk's day, as locust user classes.

`bench.mixed` fills `DATA` (sessions, tokens and the orders each user may
act on, made in the database before the run) and runs these classes with
locust as a library. Every request carries a name `<group>: <kind>`; the
groups are `page` (a screen a person waits for), `action` (a button that
changes data), `api` (an integration's call) and `intake` (the platform's
order batches). A response other than the one the browser or integration
expects counts as an error.

The mix, per 100 users (class weights), and the think times between one
user's requests (uniform in the range):

| user | share | think time | what it does (task weights) |
| --- | ---: | --- | --- |
| `Seller` of a typical shop (`bench-s1`…`bench-s40`) | 50 | 3-12 s | home 2, shipping page (a box) 3, claims page 2, a status box or filter of it 3, a claim's panel 3, note to the buyer 1, cancel an order 1, start a return 0.5 |
| `BigShopSeller` (`bench-big`, 200,000 orders) | 5 | 3-12 s | the same screens on the big shop, and notes; no cancels |
| `Buyer` | 35 | 5-20 s | My page 6, cancel a new order at once 1, ask to cancel a confirmed order 1 |
| `QapiIntegration` (one QAPI key per shop) | 5 | 20-40 s | `ShippingBasic.GetClaimInfo_V3` over 7 days 1, `ShippingBasic.GetShippingInfo_v3` new orders over 3 days 1 |
| `RestIntegration` (one read token per shop) | 4 | 15-30 s | `GET /api/v1/claims?limit=50` 1, `GET /api/v1/orders?limit=50` 1 |
| `IntakeFeed` (a platform token) | 1 | 20-40 s | `POST /api/v1/platform/orders` with 50 new carts |

A seller or buyer whose pool of orders to act on is used up views a page
instead (counted in `POOL_EMPTY`). Sessions are made directly in the
session store (no password hashing per user), as a signed-in person's
browser already has one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from collections import Counter
from http.cookiejar import Cookie
from typing import Any

from locust import FastHttpUser, User, between, constant, task

from bench.intake import _cart

#: Filled by bench.mixed.prepare(): see there.
DATA: dict[str, Any] = {}
#: Order numbers acted on successfully, per kind (for the exactly-once check afterwards).
ACTED: dict[str, list[int]] = {}
#: Times a user found its pool of orders empty, per kind.
POOL_EMPTY: Counter[str] = Counter()

SELLER_THINK = between(3, 12)
BUYER_THINK = between(5, 20)

_seq: dict[str, itertools.count[int]] = {}


def _cookie(name: str, value: str, host: str) -> Cookie:
    return Cookie(
        0, name, value, None, False, host, False, False, "/", True, False, None, True, None,
        None, {},
    )  # fmt: skip


def _next(kind: str) -> dict[str, Any]:
    """The next identity of `kind` (sellers, buyers, ...), handed out in turn."""
    people = DATA[kind]
    n = next(_seq.setdefault(kind, itertools.count()))
    return dict(people[n % len(people)])


class _Signed(FastHttpUser):
    abstract = True
    identity_kind = ""

    def on_start(self) -> None:
        self.me = _next(self.identity_kind)
        host = "127.0.0.1"
        self.client.cookiejar.set_cookie(_cookie("sessionid", self.me["session"], host))
        self.client.cookiejar.set_cookie(_cookie("csrftoken", self.me["csrf"], host))
        self.rng = random.Random(self.me["session"])

    def _get(self, name: str, path: str, *, htmx: bool = False) -> None:
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.get(
            path, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def _post(
        self, name: str, path: str, data: dict[str, str], *, expect: int, htmx: bool = False
    ) -> bool:
        headers = {"X-CSRFToken": self.me["csrf"], "Referer": (self.host or "") + path}
        if htmx:
            headers["HX-Request"] = "true"
        with self.client.post(
            path, name=name, data=data, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                return False
            return True

    def _take(self, pool: list[int], kind: str) -> int | None:
        if not pool:
            POOL_EMPTY[kind] += 1
            return None
        return pool.pop()


class _SellerBase(_Signed):
    abstract = True
    wait_time = SELLER_THINK
    identity_kind = "sellers"

    @property
    def shop(self) -> dict[str, Any]:
        return DATA["shops"][self.me["shop"]]

    @task(2)
    def home(self) -> None:
        self._get("page: seller home", "/seller/")

    @task(3)
    def shipping(self) -> None:
        box = self.rng.choice(DATA["shipping_boxes"])
        self._get("page: shipping page", f"/seller/shipping/?box={box}")

    @task(2)
    def claims(self) -> None:
        self._get("page: claims page", "/seller/claims/")

    @task(3)
    def claims_filtered(self) -> None:
        """A status box (htmx) in the default period or over 90 days, or an order-no search."""
        today = dt.date.today()
        pick = self.rng.random()
        if pick < 0.5:
            query = f"status={self.rng.choice(DATA['claim_statuses'])}"
        elif pick < 0.8:
            since = today - dt.timedelta(days=89)
            query = (
                f"period_kind=request&date_from={since}&date_to={today}"
                f"&status={self.rng.choice(DATA['claim_statuses'])}"
            )
        else:
            no = self.rng.choice(self.shop["claims"])
            query = f"search_kind=order_no&search={no}"
        self._get("page: claims box/filter", f"/seller/claims/?{query}&partial=1", htmx=True)

    @task(3)
    def claim_panel(self) -> None:
        no = self.rng.choice(self.shop["claims"])
        self._get("page: claim panel", f"/seller/claims/{no}/", htmx=True)

    def every_kind(self) -> None:
        """Each of this user's requests once (the smoke run's only task)."""
        self.home()
        self.shipping()
        self.claims()
        self.claims_filtered()
        self.claim_panel()
        self.note()

    @task(1)
    def note(self) -> None:
        no = self.rng.choice(self.shop["claims"])
        data = {
            "recipient": "buyer",
            "category": DATA["note_category"],
            "title": "発送について",
            "body": "ご不便をおかけして申し訳ございません。確認して改めてご連絡いたします。",
            "by_mail": "on",
        }
        if self._post(
            "action: note to buyer", f"/seller/orders/{no}/notes/send/", data, expect=200,
            htmx=True,
        ):  # fmt: skip
            ACTED.setdefault("note", []).append(no)


class Seller(_SellerBase):
    """A typical shop's seller: the screens, notes, and the shop's cancels and returns."""

    weight = 50

    def every_kind(self) -> None:
        super().every_kind()
        self.cancel()
        self.start_return()

    @task(1)
    def cancel(self) -> None:
        no = self._take(self.shop["cancel"], "seller_cancel")
        if no is None:
            self.home()
            return
        data = {
            "mode": "cancel",
            "reason": "OUT_OF_STOCK",
            "seller_memo": "在庫切れのためキャンセルします",
            "confirm_without_notice": "on",
        }
        if self._post(
            "action: seller cancel", f"/seller/orders/{no}/cancel/", data, expect=200, htmx=True
        ):
            ACTED.setdefault("seller_cancel", []).append(no)

    @task
    def start_return_sometimes(self) -> None:
        """Weight 0.5: every other pick of this task opens a claim panel instead."""
        if self.rng.random() < 0.5:
            self.claim_panel()
        else:
            self.start_return()

    def start_return(self) -> None:
        no = self._take(self.shop["return"], "seller_return")
        if no is None:
            self.home()
            return
        data = {
            "kind": "return",
            "reason": "DEFECTIVE",
            "seller_memo": "初期不良のため返品をお願いします",
            "pickup_method": "buyer_sends",
        }
        if self._post(
            "action: seller start return", f"/seller/claims/{no}/start-return/", data,
            expect=200, htmx=True,
        ):  # fmt: skip
            ACTED.setdefault("seller_return", []).append(no)


class BigShopSeller(_SellerBase):
    """A seller of the big shop (200,000 orders, 320,000 claims): its screens and notes."""

    weight = 5
    identity_kind = "big_sellers"


class Buyer(_Signed):
    """A buyer: My page, now and then a cancel of a new order or a request on a confirmed one."""

    weight = 35
    wait_time = BUYER_THINK
    identity_kind = "buyers"

    def every_kind(self) -> None:
        self.my_page()
        self.cancel_now()
        self.request_cancel()

    @task(6)
    def my_page(self) -> None:
        self._get("page: buyer my page", "/my/")

    @task(1)
    def cancel_now(self) -> None:
        no = self._take(self.me["instant"], "buyer_cancel")
        if no is None:
            self.my_page()
            return
        data = {"reason": "EDIT_ORDER", "memo": "注文内容を変更したいので取り消します"}
        if self._post("action: buyer cancel now", f"/my/orders/{no}/cancel/", data, expect=302):
            ACTED.setdefault("buyer_cancel", []).append(no)

    @task(1)
    def request_cancel(self) -> None:
        no = self._take(self.me["confirmed"], "buyer_request")
        if no is None:
            self.my_page()
            return
        data = {"reason": "EDIT_ORDER", "memo": "キャンセルをお願いします"}
        if self._post(
            "action: buyer cancel request", f"/my/orders/{no}/request-cancel/", data, expect=302
        ):
            ACTED.setdefault("buyer_request", []).append(no)


class QapiIntegration(FastHttpUser):
    """A shop's order tool polling the Qoo10-compatible QAPI."""

    weight = 5
    wait_time = between(20, 40)

    def on_start(self) -> None:
        self.key = _next("qapi_keys")["key"]

    def _call(self, method: str, params: dict[str, str]) -> None:
        path = f"/GMKT.INC.Front.QAPIService/ebayjapan.qapi/{method}"
        with self.client.get(
            path,
            params={**params, "returnType": "json"},
            headers={"GiosisCertificationKey": self.key},
            name=f"api: QAPI {method.split('.')[-1]}",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or response.json().get("ResultCode") != 0:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")

    def every_kind(self) -> None:
        self.claims()
        self.new_orders()

    @task
    def claims(self) -> None:
        today = dt.date.today()
        self._call(
            "ShippingBasic.GetClaimInfo_V3",
            {
                "search_condition": "2",
                "search_Sdate": (today - dt.timedelta(days=6)).strftime("%Y%m%d"),
                "search_Edate": today.strftime("%Y%m%d"),
            },
        )

    @task
    def new_orders(self) -> None:
        today = dt.date.today()
        self._call(
            "ShippingBasic.GetShippingInfo_v3",
            {
                "ShippingStatus": "2",
                "SearchCondition": "1",
                "SearchStartDate": (today - dt.timedelta(days=2)).strftime("%Y%m%d"),
                "SearchEndDate": today.strftime("%Y%m%d"),
            },
        )


class RestIntegration(FastHttpUser):
    """A shop's back office reading the REST API with a read token."""

    weight = 4
    wait_time = between(15, 30)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {_next('rest_tokens')['token']}"}

    def _get(self, name: str, path: str) -> None:
        with self.client.get(path, name=name, headers=self.headers, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")

    def every_kind(self) -> None:
        self.claims()
        self.orders()

    @task
    def claims(self) -> None:
        self._get("api: REST GET /claims", "/api/v1/claims?limit=50")

    @task
    def orders(self) -> None:
        self._get("api: REST GET /orders", "/api/v1/orders?limit=50")


class IntakeFeed(FastHttpUser):
    """The marketplace sending new carts in batches of 50."""

    weight = 1
    wait_time = between(20, 40)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {DATA['platform_token']}"}

    def every_kind(self) -> None:
        self.batch()

    @task
    def batch(self) -> None:
        run = uuid.uuid4().hex[:10]
        body = {"carts": [_cart(run, n) for n in range(50)]}
        with self.client.post(
            "/api/v1/platform/orders",
            json=body,
            headers=self.headers,
            name="intake: platform orders batch of 50",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")


USER_CLASSES: list[type[User]] = [
    Seller,
    BigShopSeller,
    Buyer,
    QapiIntegration,
    RestIntegration,
    IntakeFeed,
]


def smoke_classes() -> list[type[User]]:
    """One user of each class making each of its requests in turn, without thinking."""

    def every_kind(user: Any) -> None:
        user.every_kind()

    return [
        type(
            cls.__name__,
            (cls,),
            {"tasks": [every_kind], "wait_time": constant(0.1), "fixed_count": 1},
        )
        for cls in USER_CLASSES
    ]


#: Every request kind the users make (the smoke test checks each was made).
KINDS = {
    "page: seller home",
    "page: shipping page",
    "page: claims page",
    "page: claims box/filter",
    "page: claim panel",
    "page: buyer my page",
    "action: note to buyer",
    "action: seller cancel",
    "action: seller start return",
    "action: buyer cancel now",
    "action: buyer cancel request",
    "api: QAPI GetClaimInfo_V3",
    "api: QAPI GetShippingInfo_v3",
    "api: REST GET /claims",
    "api: REST GET /orders",
    "intake: platform orders batch of 50",
}
