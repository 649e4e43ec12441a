"""The Qoo10-compatible QAPI endpoint, called the way the public Qoo10 clients call it."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext_lazy

from claimdesk.accounts.models import ApiTokenKind, ShopAddress, User
from claimdesk.accounts.tokens import api_token_create, api_token_revoke
from claimdesk.api.qapi.envelope import XSD, XSI, Result, date_text, date_texts, render
from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.returns import claim_request_return
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.payments.models import Refund, RefundDestination, RefundStatus
from tests.factories import order_in, return_address

pytestmark = pytest.mark.django_db

BASE = "/GMKT.INC.Front.QAPIService/ebayjapan.qapi"


def qapi_key(user: User, *, write: bool = True) -> str:
    return api_token_create(actor=user, name="qapi", can_write=write, kind=ApiTokenKind.QAPI)[1]


def call(
    method: str, key: str, *, form: str = "post", fmt: str = "json", **params: Any
) -> dict[str, Any]:
    """Call `method` as a Qoo10 client does and return the envelope as a dict.

    `form` is "post" (path method, header key, form body) or "get" (?method=&key=&v=&returnType=).
    """
    client = Client()
    return_type = {"json": "application/json", "xml": "text/xml"}.get(fmt, fmt)
    if form == "post":
        response = client.post(
            f"{BASE}/{method}",
            {"returnType": return_type, **params},
            headers={"GiosisCertificationKey": key, "QAPIVersion": "1.0"},
        )
    else:
        response = client.get(
            BASE, {"method": method, "key": key, "v": "1.0", "returnType": return_type, **params}
        )
    assert response.status_code == 200
    if "xml" in return_type:
        assert response["Content-Type"].startswith("text/xml")
        root = ET.fromstring(response.content)  # noqa: S314 - our own answer
        obj = root.find("ResultObject")
        return {
            "root": root.tag,
            "ResultCode": int(root.findtext("ResultCode") or "0"),
            "ResultMsg": root.findtext("ResultMsg"),
            "ResultObject": obj,
            **({"ResultDetail": detail} if (detail := root.findtext("ResultDetail")) else {}),
        }
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def rows_of(result: dict[str, Any], fmt: str, item: str) -> list[dict[str, str]]:
    """Return the rows of a list answer as {field: text}, whatever the format."""
    if fmt == "json":
        return [{k: str(v) for k, v in row.items()} for row in result["ResultObject"]]
    return [
        {child.tag: child.text or "" for child in element}
        for element in result["ResultObject"].findall(item)
    ]


def ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


BOTH_WAYS = pytest.mark.parametrize(
    ("form", "fmt"), [("post", "json"), ("post", "xml"), ("get", "json"), ("get", "xml")]
)


@BOTH_WAYS
def test_bad_key_and_unknown_method(seller: User, form: str, fmt: str) -> None:
    """A wrong key is -10000 and an unknown method -90001, with HTTP 200."""
    assert (
        call("ShippingBasic.GetShippingInfo_v3", "nope", form=form, fmt=fmt)["ResultCode"] == -10000
    )
    key = qapi_key(seller)
    assert call("ShippingBasic.NoSuchThing", key, form=form, fmt=fmt)["ResultCode"] == -90001


def test_key_states_map_to_qoo10_codes(seller: User) -> None:
    """Expired keys are -90004, revoked -90005, REST tokens -90002, read-only keys writing -90003."""
    token, raw = api_token_create(
        actor=seller,
        name="old",
        kind=ApiTokenKind.QAPI,
        expires_at=timezone.now() - dt.timedelta(days=1),
    )
    assert call("ShippingBasic.GetShippingInfo_v3", raw)["ResultCode"] == -90004
    token, raw = api_token_create(actor=seller, name="gone", kind=ApiTokenKind.QAPI)
    api_token_revoke(actor=seller, token_id=token.pk)
    assert call("ShippingBasic.GetShippingInfo_v3", raw)["ResultCode"] == -90005
    rest = api_token_create(actor=seller, name="rest")[1]
    assert call("ShippingBasic.GetShippingInfo_v3", rest)["ResultCode"] == -90002
    reader = qapi_key(seller, write=False)
    assert call("ShippingBasic.GetShippingInfo_v3", reader)["ResultCode"] == 0
    result = call(
        "ShippingBasic.SetSendingInfo", reader, OrderNo="1", ShippingCorp="a", TrackingNo="b"
    )
    assert result["ResultCode"] == -90003


@BOTH_WAYS
def test_create_certification_key(seller: User, form: str, fmt: str) -> None:
    """CreateCertificationKey issues a working seller key for a staff login (user_id or userId)."""
    seller.set_password("secret-pw-123")
    seller.save()
    api_key = qapi_key(seller)
    name = "user_id" if form == "post" else "userId"
    result = call(
        "CertificationAPI.CreateCertificationKey",
        api_key,
        form=form,
        fmt=fmt,
        **{name: seller.username, "pwd": "secret-pw-123"},
    )
    assert result["ResultCode"] == 0
    new_key = result["ResultObject"] if fmt == "json" else result["ResultObject"].text
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfString"
    assert call("ShippingBasic.GetShippingInfo_v3", new_key)["ResultCode"] == 0
    wrong = call(
        "CertificationAPI.CreateCertificationKey", api_key, user_id=seller.username, pwd="x"
    )
    assert wrong["ResultCode"] < 0


@BOTH_WAYS
def test_get_shipping_info_v2_and_v3(
    seller: User, other_seller: User, buyer: User, form: str, fmt: str
) -> None:
    """Both versions list the shop's orders with Qoo10's field names; another shop's never."""
    new = order_in("new", seller=seller, buyer=buyer)
    order_in("new", seller=other_seller, buyer=buyer)
    key = qapi_key(seller)
    today = timezone.localdate()
    v3 = call(
        "ShippingBasic.GetShippingInfo_v3",
        key,
        form=form,
        fmt=fmt,
        ShippingStatus="2",
        SearchStartDate=ymd(today - dt.timedelta(days=1)),
        SearchEndDate=ymd(today),
        SearchCondition="1",
    )
    v2 = call(
        "shippingbasic.getshippinginfo_V2",  # any case
        key,
        form=form,
        fmt=fmt,
        ShippingStat="2",
        search_Sdate=ymd(today) + "000000",
        search_Edate=ymd(today) + "235959",
        search_condition="1",
    )
    assert v3["ResultCode"] == v2["ResultCode"] == 0
    if fmt == "xml":
        assert v3["root"] == v2["root"] == "StdCustomResultOfListOfShippingInfo"
    # v3 answers with Qoo10's PascalCase names...
    (row3,) = rows_of(v3, fmt, "ShippingInfo")
    assert row3["OrderNo"] == str(new.order_no)
    assert row3["ShippingStatus"] == "On request(2)" and row3["PackNo"] == str(new.cart.cart_no)
    assert row3["OrderDate"][:10] == today.isoformat()
    for name in ("EstimatedShippingDate", "ItemNo", "ReceiverKana", "ShippingAddress", "Address1"):
        assert name in row3
    for name in ("RelatedOrder", "ShippingRateType", "ShippingMessage", "DesiredDeliveryDate"):
        assert name in row3
    for name in ("PackingNo", "SellerDeliveryNo", "BranchName", "CartDiscountSeller"):
        assert name in row3
    # ...v2 with the older lowerCamel ones, so that a v2 client finds its fields.
    (row2,) = rows_of(v2, fmt, "ShippingInfo")
    assert row2["orderNo"] == str(new.order_no)
    assert row2["shippingStatus"] == "On request(2)" and row2["packNo"] == str(new.cart.cart_no)
    assert row2["orderDate"][:10] == today.isoformat()
    assert row2["sellerID"] == seller.shop.code  # type: ignore[union-attr]
    assert row2["itemTitle"] == new.item_title and row2["orderQty"] == str(new.quantity)
    for name in (
        "PaymentDate", "EstShippingDate", "ShippingDate", "DeliveredDate", "buyer", "buyer_gata",
        "receiver", "receiver_gata", "receiverTel", "receiverMobile", "zipCode", "shippingAddr",
        "Addr1", "Addr2", "shippingCountry", "itemCode", "sellerItemCode", "option",
        "optionCode", "orderPrice", "discount", "total", "DeliveryCompany", "TrackingNo",
        "PackingNo", "SellerDeliveryNo", "Cart_Discount_Seller", "Cart_Discount_Qoo10",
        "SettlePrice", "PaymentMethod",
    ):  # fmt: skip
        assert name in row2, name
    assert "OrderNo" not in row2 and "orderNo" not in row3


@pytest.mark.parametrize("value", ["9", "x", "1" * 30, "-1"])
def test_out_of_range_statuses_are_clean_errors(seller: User, value: str) -> None:
    """A status outside Qoo10's codes (even 30 digits) is a -1000x answer, never a crash."""
    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    for method, params in (
        ("ShippingBasic.GetShippingInfo_v2", {"ShippingStat": value}),
        ("ShippingBasic.GetShippingInfo_v3", {"ShippingStatus": value}),
        (
            "ShippingBasic.GetClaimInfo_V3",
            {"ClaimStat": value, "search_Sdate": today, "search_Edate": today},
        ),
        ("ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2", {"OrderNo": value}),
    ):
        for form in ("post", "get"):
            code = call(method, key, form=form, **params)["ResultCode"]
            assert -10020 < code <= -10001, (method, code)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unexpected_error_is_still_http_200(
    seller: User, fmt: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong inside a method, the answer is the envelope with a negative code."""
    from claimdesk.api.qapi import methods

    def boom(ctx: object, params: object) -> None:
        raise RuntimeError("boom")

    spec = methods.METHODS["shippingbasic.getshippinginfo_v3"]
    monkeypatch.setitem(
        methods.METHODS, "shippingbasic.getshippinginfo_v3", methods.Method(spec.name, boom)
    )
    result = call("ShippingBasic.GetShippingInfo_v3", qapi_key(seller), fmt=fmt)
    assert result["ResultCode"] == -99999 and result["ResultMsg"]
    assert "boom" in caplog.text


@BOTH_WAYS
def test_dates_and_90_day_limit(seller: User, form: str, fmt: str) -> None:
    """Dates are yyyyMMdd or yyyyMMddHHmmss; bad dates are -10002, over 90 days -10003."""
    key = qapi_key(seller)
    too_long = call(
        "ShippingBasic.GetShippingInfo_v3",
        key,
        form=form,
        fmt=fmt,
        SearchStartDate="20240101",
        SearchEndDate="20240601",
    )
    assert too_long["ResultCode"] == -10003
    too_long_v2 = call(
        "ShippingBasic.GetShippingInfo_v2",
        key,
        form=form,
        fmt=fmt,
        search_Sdate="20240101000000",
        search_Edate="20240601235959",
    )
    assert too_long_v2["ResultCode"] == -10003
    claims = call(
        "ShippingBasic.GetClaimInfo_V3",
        key,
        form=form,
        fmt=fmt,
        search_Sdate="20240101",
        search_Edate="20240601",
    )
    assert claims["ResultCode"] == -10003
    bad = call(
        "ShippingBasic.GetClaimInfo_V3", key, search_Sdate="2024-13-45", search_Edate="20240101"
    )
    assert bad["ResultCode"] == -10002
    empty = call(
        "ShippingBasic.GetClaimInfo_V3", key, ClaimStat="", search_Sdate="", search_Edate=""
    )
    assert empty["ResultCode"] == -10002  # required for claims
    assert call("ShippingBasic.GetShippingInfo_v3", key, ShippingStatus="")["ResultCode"] == 0


@BOTH_WAYS
def test_get_claim_info_v3_and_by_order_no(seller: User, buyer: User, form: str, fmt: str) -> None:
    """Claims are listed with Qoo10's claim status codes; the single-order call joins both."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    claims = call(
        "ShippingBasic.GetClaimInfo_V3",
        key,
        form=form,
        fmt=fmt,
        ClaimStat="1",
        search_Sdate=today,
        search_Edate=today,
        search_condition="2",
    )
    one = call(
        "ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2",
        key,
        form=form,
        fmt=fmt,
        OrderNo=str(order.order_no),
    )
    assert claims["ResultCode"] == one["ResultCode"] == 0
    if fmt == "json":
        assert [(c["orderNo"], c["claimStatus"]) for c in claims["ResultObject"]] == [
            (order.order_no, "1")
        ]
        assert one["ResultObject"][0]["claimStatus"] == "1"
        assert one["ResultObject"][0]["shippingStatus"] == "Seller confirm(3)"
        assert one["ResultObject"][0]["orderNo"] == order.order_no
        for name in ("packNo", "buyer_gata", "receiver_gata", "shippingAddr", "PackingNo"):
            assert name in one["ResultObject"][0]
        for name in ("cancelRefundDate", "requestDate", "deliveryCompany", "trackingNo"):
            assert name in one["ResultObject"][0]
        assert "OrderNo" not in one["ResultObject"][0]
    else:
        assert claims["root"] == "StdCustomResultOfListOfClaimInfo_V2"
        assert claims["ResultObject"].find("ClaimInfo_V2").findtext("claimStatus") == "1"
    missing = call("ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2", key, OrderNo="999")
    assert missing["ResultCode"] == -10001


@BOTH_WAYS
def test_set_seller_check_yn_v2(seller: User, buyer: User, form: str, fmt: str) -> None:
    """SetSellerCheckYN_V2 confirms a new order; confirming again is -10012; a past date -10018."""
    order = order_in("new", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    past = call(
        "ShippingBasic.SetSellerCheckYN_V2",
        key,
        form=form,
        fmt=fmt,
        OrderNo=str(order.order_no),
        EstShipDt="20000101",
    )
    assert past["ResultCode"] == -10018
    ok = call(
        "ShippingBasic.SetSellerCheckYN_V2",
        key,
        form=form,
        fmt=fmt,
        OrderNo=str(order.order_no),
        EstShipDt=tomorrow,
        DelayType="",
        DelayMemo="",
    )
    assert ok["ResultCode"] == 0
    if fmt == "xml":
        assert ok["root"] == "StdResult"
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.CONFIRMED
    again = call(
        "ShippingBasic.SetSellerCheckYN_V2", key, OrderNo=str(order.order_no), EstShipDt=tomorrow
    )
    assert again["ResultCode"] == -10012
    delayed = call(
        "ShippingBasic.SetSellerCheckYN_V2",
        key,
        OrderNo=str(order.order_no),
        EstShipDt=tomorrow,
        DelayType="3",
        DelayMemo="お客様のご要望",
    )
    assert delayed["ResultCode"] == 0
    order.refresh_from_db()
    assert order.delay_type == 3
    assert (
        call("ShippingBasic.SetSellerCheckYN_V2", key, OrderNo=str(order.order_no))["ResultCode"]
        == -10016
    )


@BOTH_WAYS
def test_bulk_methods_and_the_500_row_limit(seller: User, buyer: User, form: str, fmt: str) -> None:
    """Bulk calls answer per row; more than 500 rows is -10011 and changes nothing."""
    new = order_in("new", seller=seller, buyer=buyer)
    other_new = order_in("new", seller=seller, buyer=buyer)
    confirmed = order_in("confirmed", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    rows = [
        {"OrderNo": str(new.order_no), "EstShipDt": tomorrow, "DelayType": "", "DelayMemo": ""},
        {"OrderNo": "999", "EstShipDt": tomorrow, "DelayType": "", "DelayMemo": ""},
    ]
    result = call(
        "ShippingBasic.SetSellerCheckYNBulk",
        key,
        form=form,
        fmt=fmt,
        SendPlanDtInfoJson=json.dumps(rows),
    )
    assert result["ResultCode"] == 0
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfListOfBulkResult"
    assert [r["result_cd"] for r in rows_of(result, fmt, "BulkResult")] == ["0", "-10001"]
    many = [{"OrderNo": str(other_new.order_no), "EstShipDt": tomorrow}] * 501
    too_many_checks = call(
        "ShippingBasic.SetSellerCheckYNBulk",
        key,
        form=form,
        fmt=fmt,
        SendPlanDtInfoJson=json.dumps(many),
    )
    assert too_many_checks["ResultCode"] == -10011
    other_new.refresh_from_db()
    assert other_new.shipping_status == ShippingStatus.REQUESTED
    ship_rows = [
        {"OrderNo": str(confirmed.order_no), "ShippingCorp": "ヤマト運輸", "TrackingNo": "A1"}
    ]
    too_many = call(
        "ShippingBasic.SetSendingInfoBulk",
        key,
        form=form,
        fmt=fmt,
        ShippingInfoJson=json.dumps(ship_rows * 501),
    )
    assert too_many["ResultCode"] == -10011
    confirmed.refresh_from_db()
    assert confirmed.shipping_status == ShippingStatus.CONFIRMED
    shipped = call(
        "ShippingBasic.SetSendingInfoBulk",
        key,
        form=form,
        fmt=fmt,
        ShippingInfoJson=json.dumps(ship_rows),
    )
    assert shipped["ResultCode"] == 0
    assert [r["result_cd"] for r in rows_of(shipped, fmt, "BulkResult")] == ["0"]
    confirmed.refresh_from_db()
    assert confirmed.shipping_status == ShippingStatus.ON_DELIVERY


@BOTH_WAYS
def test_set_sending_info_and_wrong_state(seller: User, buyer: User, form: str, fmt: str) -> None:
    """SetSendingInfo ships; shipping a delivered order is the wrong state (-10004)."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    delivered = order_in("delivered", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    ok = call(
        "ShippingBasic.SetSendingInfo",
        key,
        form=form,
        fmt=fmt,
        OrderNo=str(order.order_no),
        ShippingCorp="佐川急便",
        TrackingNo="S-1",
    )
    assert ok["ResultCode"] == 0
    order.refresh_from_db()
    assert (order.shipping_status, order.tracking_no) == (ShippingStatus.ON_DELIVERY, "S-1")
    wrong = call(
        "ShippingBasic.SetSendingInfo",
        key,
        form=form,
        fmt=fmt,
        OrderNo=str(delivered.order_no),
        ShippingCorp="a",
        TrackingNo="b",
    )
    assert wrong["ResultCode"] == -10004
    assert wrong["ResultMsg"]


@BOTH_WAYS
def test_set_cancel_process(seller: User, buyer: User, form: str, fmt: str) -> None:
    """SetCancelProcess cancels as the portal does: without a cancel note only when confirmed,
    a buyer's request only with CancelReason 1; a shipped order is the wrong state."""
    new = order_in("new", seller=seller, buyer=buyer)
    requested = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=requested, reason="EDIT_ORDER")
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    params = {"ContrNo": str(new.order_no), "CancelReason": "", "SellerMemo": "在庫切れ"}
    unconfirmed = call("Claim.SetCancelProcess", key, form=form, fmt=fmt, **params)
    assert unconfirmed["ResultCode"] == -10004
    assert unconfirmed["ResultMsg"].startswith("No cancel note was sent to the buyer")
    assert unconfirmed["ResultDetail"]  # the portal's question, in the owner's language
    assert not Claim.objects.filter(order=new).exists()
    ok = call("Claim.SetCancelProcess", key, form=form, fmt=fmt, ConfirmWithoutNotice="Y", **params)
    assert ok["ResultCode"] == 0
    claim = Claim.objects.get(order=new)
    assert claim.reason_code == "OUT_OF_STOCK" and claim.cancelled_without_notice
    seller_reason = call(
        "Claim.SetCancelProcess",
        key,
        ContrNo=str(requested.order_no),
        CancelReason="",
        ConfirmWithoutNotice="Y",
    )
    assert seller_reason["ResultCode"] == -10004  # the buyer's request is open: not approved
    assert Claim.objects.get(order=requested).status == ClaimStatus.CANCEL_REQUESTED
    approve = call(
        "Claim.SetCancelProcess",
        key,
        form=form,
        fmt=fmt,
        ContrNo=str(requested.order_no),
        CancelReason="1",
    )
    assert approve["ResultCode"] == 0
    # a card refund: the cancel completes when the worker has given the money back
    assert Claim.objects.get(order=requested).status == ClaimStatus.CANCELLING
    wrong = call("Claim.SetCancelProcess", key, ContrNo=str(shipped.order_no), CancelReason="3")
    assert wrong["ResultCode"] == -10004
    assert call("Claim.SetCancelProcess", key, ContrNo="abc")["ResultCode"] == -10002


@BOTH_WAYS
def test_claim_accept_and_redelivery(seller: User, buyer: User, form: str, fmt: str) -> None:
    """SetClaimAccept approves an exchange to the seller_* address given, without adding it to
    the shop's address book; SetClaimRedelivery ships it."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
    key = qapi_key(seller)
    accepted = call(
        "Claim.SetClaimAccept",
        key,
        form=form,
        fmt=fmt,
        orderNo=str(order.order_no),
        seller_name="テストショップ",
        seller_zip_code="100-0001",
        seller_front_address="東京都千代田区",
        seller_back_address="1-1",
        seller_hp_no="",
        seller_tel_no="03-0000-0000",
    )
    assert accepted["ResultCode"] == 0, accepted
    if fmt == "xml":
        assert accepted["root"] == "StdResult"
    claim = Claim.objects.get(order=order)
    assert claim.status == ClaimStatus.EXCHANGE_APPROVED
    assert claim.return_address == {
        "name": "テストショップ",
        "zip_code": "100-0001",
        "address_front": "東京都千代田区",
        "address_back": "1-1",
        "phone": "03-0000-0000",
    }
    assert not ShopAddress.objects.filter(shop=seller.shop).exists()
    redelivered = call(
        "Claim.SetClaimRedelivery",
        key,
        form=form,
        fmt=fmt,
        orderNo=str(order.order_no),
        redelivery_date=ymd(timezone.localdate() + dt.timedelta(days=1)),
        invoice_no="R-1",
        del_comapny_name="ヤマト運輸",
        rcv_name="",
        rcv_zipCode="",
    )
    assert redelivered["ResultCode"] == 0, redelivered
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REDELIVERING and claim.redelivery_tracking_no == "R-1"


def test_claim_accept_of_a_return(seller: User, buyer: User) -> None:
    """SetClaimAccept on a return request accepts the return."""
    return_address(seller.shop)  # type: ignore[arg-type]
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    key = qapi_key(seller)
    assert call("Claim.SetClaimAccept", key, orderNo=str(order.order_no))["ResultCode"] == 0
    assert Claim.objects.get(order=order).status == ClaimStatus.RETURNING


def test_another_shops_orders_are_not_found(seller: User, other_seller: User, buyer: User) -> None:
    """Every order method refuses another shop's order as not found and changes nothing."""
    order = order_in("new", seller=other_seller, buyer=buyer)
    key = qapi_key(seller)
    no = str(order.order_no)
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    assert (
        call("ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2", key, OrderNo=no)["ResultCode"]
        == -10001
    )
    assert (
        call("ShippingBasic.SetSellerCheckYN_V2", key, OrderNo=no, EstShipDt=tomorrow)["ResultCode"]
        == -10001
    )
    assert (
        call("ShippingBasic.SetSendingInfo", key, OrderNo=no, ShippingCorp="a", TrackingNo="b")[
            "ResultCode"
        ]
        == -10001
    )
    assert call("Claim.SetCancelProcess", key, ContrNo=no)["ResultCode"] == -10002
    assert call("Claim.SetClaimAccept", key, orderNo=no)["ResultCode"] == -10002
    assert call("Claim.SetClaimRedelivery", key, orderNo=no)["ResultCode"] == -10002
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.REQUESTED
    assert not Claim.objects.filter(order=order).exists()


@BOTH_WAYS
def test_another_shops_claims_and_bulk_rows(
    seller: User, other_seller: User, buyer: User, form: str, fmt: str
) -> None:
    """GetClaimInfo_V3 never lists another shop's claims; bulk rows of its orders are refused."""
    theirs = order_in("confirmed", seller=other_seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=theirs, reason="EDIT_ORDER")
    theirs_new = order_in("new", seller=other_seller, buyer=buyer)
    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    for stat in ("", "1"):
        claims = call(
            "ShippingBasic.GetClaimInfo_V3",
            key,
            form=form,
            fmt=fmt,
            ClaimStat=stat,
            search_Sdate=today,
            search_Edate=today,
            search_condition="2",
        )
        assert claims["ResultCode"] == 0
        assert rows_of(claims, fmt, "ClaimInfo_V2") == []
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    checks = call(
        "ShippingBasic.SetSellerCheckYNBulk",
        key,
        form=form,
        fmt=fmt,
        SendPlanDtInfoJson=json.dumps(
            [{"OrderNo": str(theirs_new.order_no), "EstShipDt": tomorrow}]
        ),
    )
    sends = call(
        "ShippingBasic.SetSendingInfoBulk",
        key,
        form=form,
        fmt=fmt,
        ShippingInfoJson=json.dumps(
            [{"OrderNo": str(theirs.order_no), "ShippingCorp": "ヤマト運輸", "TrackingNo": "Z"}]
        ),
    )
    for result in (checks, sends):
        assert result["ResultCode"] == 0
        assert [r["result_cd"] for r in rows_of(result, fmt, "BulkResult")] == ["-10001"]
    theirs.refresh_from_db()
    theirs_new.refresh_from_db()
    assert theirs.shipping_status == ShippingStatus.CONFIRMED and theirs.tracking_no == ""
    assert theirs_new.shipping_status == ShippingStatus.REQUESTED


def _claim_at(seller: User, buyer: User, **changes: Any) -> Claim:
    """Return a claim of `seller`'s shop whose columns and order columns are then set as given."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    order_changes = {k[7:]: v for k, v in changes.items() if k.startswith("order__")}
    Order.objects.filter(pk=order.pk).update(**order_changes)
    Claim.objects.filter(pk=claim.pk).update(
        **{k: v for k, v in changes.items() if not k.startswith("order__")}
    )
    claim.refresh_from_db()
    return claim


def _refund(claim: Claim, amount: int) -> Refund:
    return Refund.objects.create(
        claim=claim,
        order=claim.order,
        buyer=claim.buyer,
        currency=claim.order.currency,
        amount_minor=amount,
        item_minor=amount,
        destination=RefundDestination.CARD,
        status=RefundStatus.SUCCEEDED,
        idempotency_key=f"test-refund-{claim.pk}",
    )


UTC = dt.UTC


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_claim_info_rows_field_for_field(
    seller: User, buyer: User, other_buyer: User, fmt: str
) -> None:
    """Every ClaimInfo_V2 field, in order: JST dates (the day can change), empty dates, amounts in
    the order's currency, the refund only for a partial non-receipt refund, escaped XML text."""
    User.objects.filter(pk=buyer.pk).update(display_name="山田 <太郎> & Co")
    User.objects.filter(pk=other_buyer.pk).update(display_name="")
    other_buyer.refresh_from_db()
    partly = _claim_at(
        seller,
        buyer,
        status=ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED,
        reason_code="NOT_RECEIVED",
        requested_at=dt.datetime(2026, 1, 10, 15, 30, 0, 123456, tzinfo=UTC),  # 00:30 JST
        completed_at=None,
        pickup_carrier="佐川急便",
        return_shipping_deduction_minor=0,
        non_receipt_duty="SL",
        non_receipt_solution="NC",
        missing_quantity=2,
        seller_memo='a < b & "c"',
        order__ordered_at=dt.datetime(2026, 1, 5, 14, 59, 59, 999999, tzinfo=UTC),
        order__paid_at=dt.datetime(2026, 1, 5, 15, 0, 0, tzinfo=UTC),
        order__shipped_at=None,
        order__delivered_at=None,
        order__item_code="IT-1",
        order__seller_item_code="",
        order__item_title="Tシャツ <M>",
        order__quantity=3,
        order__total_minor=4500,
        order__carrier="ヤマト運輸",
        order__tracking_no="T-1",
        order__receiver_zip="100-0001",
        order__receiver_name="受取 人",
        order__receiver_phone="03-0000-0000",
        order__receiver_mobile="",
    )
    _refund(partly, 300)
    whole = _claim_at(
        seller,
        other_buyer,
        status=ClaimStatus.NON_RECEIPT_REFUNDED,
        reason_code="NOT_RECEIVED",
        requested_at=dt.datetime(2026, 1, 11, 2, 3, 4, tzinfo=UTC),
        completed_at=dt.datetime(2026, 1, 12, 23, 0, 0, tzinfo=UTC),
        return_shipping_deduction_minor=150,
        missing_quantity=None,
        order__currency="USD",
        order__total_minor=1234,
        order__ordered_at=dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC),
        order__paid_at=dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC),  # the same date twice
        order__shipped_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        order__delivered_at=dt.datetime(2026, 1, 3, 15, 0, 0, tzinfo=UTC),
    )
    _refund(whole, 1234)  # a full refund: not a partial refund balance
    _claim_at(seller, buyer, status=ClaimStatus.WITHDRAWN)  # not listed
    po, wo = partly.order, whole.order
    expected = [
        {
            "claimStatus": "15",
            "cancelRefundDate": "",
            "reason": "NOT_RECEIVED",
            "requestDate": "2026-01-11 00:30:00",
            "orderDate": "2026-01-05 23:59:59",
            "PaymentDate": "2026-01-06 00:00:00",
            "shippingDate": "",
            "DeliveredDate": "",
            "orderNo": po.order_no,
            "packNo": po.cart.cart_no,
            "itemCode": "IT-1",
            "sellerItemCode": "",
            "itemTitle": "Tシャツ <M>",
            "orderQty": 3,
            "paymentNation": po.order_country,
            "currency": "JPY",
            "paymentAmount": 4500,
            "deliveryCompany": "ヤマト運輸",
            "trackingNo": "T-1",
            "deliveryCompanyReturn": "佐川急便",
            "trackingNoReturn": "",
            "pickupAddress": "",
            "zipCode": "100-0001",
            "paymentReturnShipping": "0",
            "itemCondition": "",
            "receiver": "受取 人",
            "receiverTel": "03-0000-0000",
            "receiverMobile": "",
            "buyer": "山田 <太郎> & Co",
            "buyerTel": "",
            "buyerMobile": "",
            "CODCancelPrice": 0,
            "CODQrefundPrice": 0,
            "CODCancelRelatedOrder": "",
            "nrDutyTarget": "SL",
            "nrSolType": "NC",
            "nrPartRefundCnt": 2,
            "nrPartRefundBalance": 300,
            "sellerMemo": 'a < b & "c"',
        },
        {
            "claimStatus": "14",
            "cancelRefundDate": "2026-01-13 08:00:00",
            "reason": "NOT_RECEIVED",
            "requestDate": "2026-01-11 11:03:04",
            "orderDate": "2026-01-01 09:00:00",
            "PaymentDate": "2026-01-01 09:00:00",
            "shippingDate": "2026-01-02 12:04:05",
            "DeliveredDate": "2026-01-04 00:00:00",
            "orderNo": wo.order_no,
            "packNo": wo.cart.cart_no,
            "itemCode": wo.item_code,
            "sellerItemCode": wo.seller_item_code,
            "itemTitle": wo.item_title,
            "orderQty": wo.quantity,
            "paymentNation": wo.order_country,
            "currency": "USD",
            "paymentAmount": 12.34,
            "deliveryCompany": "",
            "trackingNo": "",
            "deliveryCompanyReturn": "",
            "trackingNoReturn": "",
            "pickupAddress": "",
            "zipCode": wo.receiver_zip,
            "paymentReturnShipping": "1.5",
            "itemCondition": "",
            "receiver": wo.receiver_name,
            "receiverTel": wo.receiver_phone,
            "receiverMobile": wo.receiver_mobile,
            "buyer": other_buyer.username,
            "buyerTel": "",
            "buyerMobile": "",
            "CODCancelPrice": 0,
            "CODQrefundPrice": 0,
            "CODCancelRelatedOrder": "",
            "nrDutyTarget": "",
            "nrSolType": "",
            "nrPartRefundCnt": 0,
            "nrPartRefundBalance": 0.0,
            "sellerMemo": "",
        },
    ]
    key = qapi_key(seller)
    result = call(
        "ShippingBasic.GetClaimInfo_V3",
        key,
        fmt=fmt,
        search_condition="2",
        search_Sdate="20260111",
        search_Edate="20260111",
    )
    assert result["ResultCode"] == 0
    if fmt == "json":
        got = result["ResultObject"]
        assert [list(row) for row in got] == [list(row) for row in expected]  # names in order
        assert got == expected
        assert [[type(v) for v in row.values()] for row in got] == [
            [type(v) for v in row.values()] for row in expected
        ]
    else:
        rows = result["ResultObject"].findall("ClaimInfo_V2")
        assert [[child.tag for child in row] for row in rows] == [list(r) for r in expected]
        assert rows_of(result, fmt, "ClaimInfo_V2") == [
            {k: str(v) for k, v in row.items()} for row in expected
        ]
    # The single-order call answers the same claim part.
    one = call("ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2", key, OrderNo=str(po.order_no))
    (row,) = one["ResultObject"]
    for name in ("claimStatus", "cancelRefundDate", "reason", "requestDate", "nrPartRefundCnt"):
        assert row[name] == expected[0][name], name
    assert row["nrPartRefundBalance"] == 300 and row["shippingDate"] == ""


def test_claim_info_dates_follow_the_current_zone(seller: User, buyer: User) -> None:
    """Dates are written in the current time zone: Tokyo, or another one with summer time."""
    _claim_at(
        seller,
        buyer,
        requested_at=dt.datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),  # New York: 01:59:59 EST
        order__paid_at=dt.datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC),  # New York: 03:00:00 EDT
    )
    key = qapi_key(seller)
    params = {"search_condition": "2", "search_Sdate": "20260307", "search_Edate": "20260309"}
    (tokyo,) = call("ShippingBasic.GetClaimInfo_V3", key, **params)["ResultObject"]
    assert (tokyo["requestDate"], tokyo["PaymentDate"]) == (
        "2026-03-08 15:59:59",
        "2026-03-08 16:00:00",
    )
    with timezone.override("America/New_York"):
        (new_york,) = call("ShippingBasic.GetClaimInfo_V3", key, **params)["ResultObject"]
    assert (new_york["requestDate"], new_york["PaymentDate"]) == (
        "2026-03-08 01:59:59",
        "2026-03-08 03:00:00",
    )


def test_claim_info_query_count_does_not_grow_with_rows(seller: User, buyer: User) -> None:
    """One query reads the claims with their orders, carts, buyers and refunds, however many."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    params = {"search_condition": "2", "search_Sdate": today, "search_Edate": today}
    counts = []
    for claims in (1, 4):
        while Claim.objects.filter(shop=seller.shop).count() < claims:
            _refund(_claim_at(seller, buyer, status=ClaimStatus.CANCEL_COMPLETED), 1000)
        call("ShippingBasic.GetClaimInfo_V3", key, **params)  # the key's last use is written
        with CaptureQueriesContext(connection) as queries:
            result = call("ShippingBasic.GetClaimInfo_V3", key, **params)
        assert len(result["ResultObject"]) == claims
        counts.append(len(queries))
        reads = [q["sql"] for q in queries if "claims_claim" in q["sql"]]
        assert len(reads) == 1 and "payments_refund" in reads[0]  # the refund with the claims
    assert counts[0] == counts[1] <= 3, counts


def test_shipping_info_reads_related_orders_once_for_all_carts(seller: User, buyer: User) -> None:
    """RelatedOrder names the cart's other orders; the query count does not grow with carts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import place_cart

    key = qapi_key(seller)
    today = timezone.localdate()
    params = {
        "ShippingStatus": "2",
        "SearchStartDate": ymd(today - dt.timedelta(days=1)),
        "SearchEndDate": ymd(today),
    }
    counts = []
    carts = []
    for total in (1, 4):
        while len(carts) < total:
            carts.append(place_cart(shop=seller.shop, buyer=buyer, prices=[1000, 2000]))
        call("ShippingBasic.GetShippingInfo_v3", key, **params)  # the key's last use is written
        with CaptureQueriesContext(connection) as queries:
            result = call("ShippingBasic.GetShippingInfo_v3", key, **params)
        rows = result["ResultObject"]
        assert len(rows) == 2 * total
        counts.append(len(queries))
    for cart in carts:
        first, second = sorted(cart.orders.values_list("order_no", flat=True))
        related = {str(row["OrderNo"]): str(row["RelatedOrder"]) for row in rows}
        assert related[str(first)] == str(second) and related[str(second)] == str(first)
    assert counts[0] == counts[1], counts


def _reference_xml(code: int, message: str, result: Result | None) -> str:
    """The XML answer as ElementTree wrote it: what the string writer must match byte for byte."""

    def value_to(parent: ET.Element, value: Any, item_name: str) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            for key, sub in value.items():
                value_to(ET.SubElement(parent, key), sub, item_name)
        elif isinstance(value, list):
            for item in value:
                value_to(ET.SubElement(parent, item_name or "Item"), item, item_name)
        elif isinstance(value, bool):
            parent.text = "true" if value else "false"
        else:
            parent.text = str(value)

    type_name = result.type_name if result is not None else "String"
    root_name = f"StdCustomResultOf{type_name}" if type_name else "StdResult"
    root = ET.Element(root_name, {"xmlns:xsi": XSI, "xmlns:xsd": XSD})
    if type_name:
        value_to(
            ET.SubElement(root, "ResultObject"),
            result.obj if result is not None else None,
            result.item_name if result else "",
        )
    ET.SubElement(root, "ResultCode").text = str(code)
    ET.SubElement(root, "ResultMsg").text = message
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize(
    "result",
    [
        None,
        Result(),
        Result(None, "String"),
        Result("", "String"),
        Result("key <&> 'x' \"y\"", "String"),
        Result([], "ListOfClaimInfo_V2", "ClaimInfo_V2"),
        Result([{}], "ListOfThing", ""),
        Result(
            [
                {
                    "s": "テキスト & <b>",
                    "empty": "",
                    "none": None,
                    "zero": 0,
                    "big": 2**63 - 1,
                    "neg": -10001,
                    "float": 12.34,
                    "whole_float": 0.0,
                    "yes": True,
                    "no": False,
                    "enum": ClaimStatus.CANCELLING,
                    "decimal": Decimal("1.50"),
                    "lazy": gettext_lazy("Cancelling"),
                    "nested": {"a": [1, "x", None, {"b": ""}], "c": {}},
                    "list": [],
                    "tabs": "a\tb\r\nc",
                },
                {"other": "row", "keys": 1},
            ],
            "ListOfBulkResult",
            "BulkResult",
        ),
        Result(["a", 1, None, True], "ListOfString", ""),
        Result({"x": "y"}, "Thing", "Item"),
        Result(7, "Int32"),
    ],
)
@pytest.mark.parametrize("message", ["SUCCESS", "", "a < b & c"])
def test_xml_answer_is_what_elementtree_wrote(result: Result | None, message: str) -> None:
    """The string writer answers byte for byte what ElementTree serialised before it."""
    got = render("xml", -10001 if result is None else 0, message, result)
    want = _reference_xml(-10001 if result is None else 0, message, result)
    assert got.content.decode() == want
    ET.fromstring(got.content)  # noqa: S314 - our own answer


@pytest.mark.parametrize(
    ("row", "kept"),
    [({"title": "Mug\x0b \x01&\ufffe<ok>"}, ["Mug &<ok>"]), ({"t": ["\x1f"]}, [])],
)
def test_xml_answer_drops_characters_xml_cannot_hold(row: dict[str, Any], kept: list[str]) -> None:
    """A control character in a buyer's text leaves a well-formed answer, without it."""
    got = render("xml", 0, "SUCCESS", Result([row], "ListOfThing", "Thing"))
    root = ET.fromstring(got.content)  # noqa: S314 - our own answer
    texts = [el.text for el in root.iter() if el.text and el.tag in ("title", "Item")]
    assert texts == kept
    assert b"\x0b" not in got.content and b"\x1f" not in got.content


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC", "America/New_York", "Australia/Lord_Howe"])
def test_date_texts_is_date_text(zone: str) -> None:
    """The per-answer date formatter writes what date_text writes, in any current zone."""
    moments: list[Any] = [
        None,
        dt.datetime(2026, 1, 10, 15, 30, 0, 123456, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC),
        dt.datetime(2026, 4, 4, 15, 0, 0, tzinfo=UTC),
        dt.datetime(2026, 4, 4, 15, 29, 59, tzinfo=UTC),
        dt.datetime(2026, 11, 1, 5, 30, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
        dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        dt.datetime(500, 6, 1, 12, 0, 0, tzinfo=UTC),
        dt.date(2026, 2, 3),
    ]
    with timezone.override(zone):
        text = date_texts()
        for moment in moments + moments:  # the second time from the cache
            assert text(moment) == date_text(moment), moment
        with pytest.raises(ValueError):
            text(dt.datetime(2026, 1, 1, 0, 0))  # naive, refused as localtime refuses it
