"""A contract per QAPI method, written from Qoo10's published method reference.

For each method: the request parameters Qoo10 documents, the answer's field
names (casing and order), their JSON types, date formats, the JSON and XML
envelopes and the documented result codes, over HTTP against the endpoint.
ResultMsg is fixed English whatever the key owner's language (the sellers of
these tests use Simplified Chinese); the refusal in their language is ResultDetail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.utils import timezone

from claimdesk.accounts.models import User
from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.returns import claim_request_return
from claimdesk.orders.models import Item, Order, ShippingStatus
from tests.factories import ItemFactory, order_in, place_cart
from tests.test_qapi import BASE, call, qapi_key, ymd

pytestmark = pytest.mark.django_db

STR, INT, NUM = "str", "int", "num"
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
STATUS_TEXT = re.compile(r"^[A-Z][a-z]+( [a-z]+)?\([1-5]\)$")
BOTH = pytest.mark.parametrize("fmt", ["json", "xml"])

#: ShippingBasic.GetShippingInfo_v3: Qoo10's ShippingInfo fields, in order, with their types.
SHIPPING_INFO_V3 = [
    ("ShippingStatus", STR), ("SellerID", STR), ("PackNo", INT), ("OrderDate", STR),
    ("PaymentDate", STR), ("EstimatedShippingDate", STR), ("ShippingDate", STR),
    ("DeliveredDate", STR), ("Buyer", STR), ("BuyerKana", STR), ("BuyerTel", STR),
    ("BuyerMobile", STR), ("BuyerEmail", STR), ("OrderNo", INT), ("ItemNo", STR),
    ("SellerItemCode", STR), ("ItemTitle", STR), ("Option", STR), ("OptionCode", STR),
    ("OrderPrice", NUM), ("OrderQty", INT), ("Discount", NUM), ("Total", NUM),
    ("Receiver", STR), ("ReceiverKana", STR), ("ZipCode", STR), ("ShippingAddress", STR),
    ("Address1", STR), ("Address2", STR), ("ReceiverTel", STR), ("ReceiverMobile", STR),
    ("DesiredDeliveryDate", STR), ("SenderName", STR), ("SenderTel", STR),
    ("SenderNation", STR), ("SenderZipCode", STR), ("SenderAddress", STR),
    ("ShippingWay", STR), ("ShippingMessage", STR), ("PaymentMethod", STR),
    ("SellerDiscount", NUM), ("Currency", STR), ("ShippingRate", NUM), ("RelatedOrder", STR),
    ("ShippingRateType", STR), ("DeliveryCompany", STR), ("VoucherCode", STR),
    ("PackingNo", STR), ("SellerDeliveryNo", STR), ("Gift", STR), ("CartDiscountSeller", NUM),
    ("CartDiscountQoo10", NUM), ("SettlePrice", NUM), ("BranchName", STR), ("TrackingNo", STR),
    ("Material", STR), ("AvailableSendType", STR), ("AvailableShippingDate", STR),
]  # fmt: skip

#: ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2: ShippingClaimInfo_V2's fields.
SHIPPING_CLAIM_INFO_V2 = [
    ("shippingStatus", STR), ("sellerID", STR), ("packNo", INT), ("orderDate", STR),
    ("PaymentDate", STR), ("DeliveredDate", STR), ("buyer", STR), ("buyer_gata", STR),
    ("buyerTel", STR), ("buyerMobile", STR), ("buyerEmail", STR), ("OrderType", STR),
    ("orderNo", INT), ("itemCode", STR), ("sellerItemCode", STR), ("itemTitle", STR),
    ("option", STR), ("optionCode", STR), ("orderPrice", NUM), ("orderQty", INT),
    ("discount", NUM), ("total", NUM), ("receiver", STR), ("receiver_gata", STR),
    ("shippingCountry", STR), ("zipCode", STR), ("shippingAddr", STR), ("receiverTel", STR),
    ("receiverMobile", STR), ("hopeDate", STR), ("senderName", STR), ("senderTel", STR),
    ("senderNation", STR), ("senderZipCode", STR), ("senderAddr", STR), ("ShippingWay", STR),
    ("ShippingMsg", STR), ("shippingRateType", STR), ("PackingNo", STR),
    ("SellerDeliveryNo", STR), ("VoucherCode", STR), ("paymentNation", STR),
    ("PaymentMethod", STR), ("Gift", STR), ("cod_price", NUM), ("Cart_Discount_Seller", NUM),
    ("Cart_Discount_Qoo10", NUM), ("claimStatus", STR), ("cancelRefundDate", STR),
    ("reason", STR), ("requestDate", STR), ("shippingDate", STR), ("currency", STR),
    ("deliveryCompany", STR), ("trackingNo", STR), ("deliveryCompanyReturn", STR),
    ("trackingNoReturn", STR), ("pickupAddress", STR), ("pickupzipCode", STR),
    ("paymentReturnShipping", STR), ("itemCondition", STR), ("CODCancelPrice", NUM),
    ("CODQrefundPrice", NUM), ("CODCancelRelatedOrder", STR), ("nrDutyTarget", STR),
    ("nrSolType", STR), ("nrPartRefundCnt", INT), ("nrPartRefundBalance", NUM),
]  # fmt: skip

#: ShippingBasic.GetClaimInfo_V3: ClaimInfo_V2's fields, in order.
CLAIM_INFO_V2 = [
    ("claimStatus", STR), ("cancelRefundDate", STR), ("reason", STR), ("requestDate", STR),
    ("orderDate", STR), ("PaymentDate", STR), ("shippingDate", STR), ("DeliveredDate", STR),
    ("orderNo", INT), ("packNo", INT), ("itemCode", STR), ("sellerItemCode", STR),
    ("itemTitle", STR), ("orderQty", INT), ("paymentNation", STR), ("currency", STR),
    ("paymentAmount", NUM), ("deliveryCompany", STR), ("trackingNo", STR),
    ("deliveryCompanyReturn", STR), ("trackingNoReturn", STR), ("pickupAddress", STR),
    ("zipCode", STR), ("paymentReturnShipping", STR), ("itemCondition", STR),
    ("receiver", STR), ("receiverTel", STR), ("receiverMobile", STR), ("buyer", STR),
    ("buyerTel", STR), ("buyerMobile", STR), ("CODCancelPrice", NUM), ("CODQrefundPrice", NUM),
    ("CODCancelRelatedOrder", STR), ("nrDutyTarget", STR), ("nrSolType", STR),
    ("nrPartRefundCnt", INT), ("nrPartRefundBalance", NUM),
]  # fmt: skip

#: ItemsLookup.GetItemDetailInfo (version 1.2): ItemDetailInfo's fields, every one a string.
ITEM_DETAIL_INFO = [
    "ItemCode", "ItemStatus", "ItemTitle", "PromotionName", "MainCatCd", "MainCatNm",
    "FirstSubCatCd", "FirstSubCatNm", "SecondSubCatCd", "SecondSubCatNm", "Drugtype",
    "SellerCode", "ProductionPlaceType", "ProductionPlace", "IndustrialCodeType",
    "IndustrialCode", "RetailPrice", "ItemPrice", "TaxRate", "SettlePrice", "ItemQty",
    "ExpireDate", "ModelNM", "ManufacturerDate", "BrandNo", "Material", "AdultYN",
    "DesiredShippingDate", "AvailableDateType", "AvailableDateValue", "ShippingNo",
    "ContactInfo", "ItemDetail", "ImageUrl", "VideoURL", "Keyword", "ListedDate",
    "ChangedDate", "OptionShippingNo1", "OptionShippingNo2",
]  # fmt: skip


def typed(value: Any, kind: str) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_row(row: dict[str, Any], contract: list[tuple[str, str]]) -> None:
    """Qoo10's fields come first, in its order and with its types; claimdesk's own follow."""
    names = [name for name, _kind in contract]
    assert list(row)[: len(names)] == names
    wrong = [(name, row[name]) for name, kind in contract if not typed(row[name], kind)]
    assert wrong == []


def xml_rows(result: dict[str, Any], item: str) -> list[list[str]]:
    return [[child.tag for child in el] for el in result["ResultObject"].findall(item)]


def assert_refusal(result: dict[str, Any], code: int, message: str | None = None) -> None:
    """A refusal: its code, a fixed English ResultMsg, never the owner's language."""
    assert result["ResultCode"] == code, result
    assert result["ResultMsg"] and result["ResultMsg"].isascii(), result["ResultMsg"]
    if message is not None:
        assert result["ResultMsg"] == message


def has_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" for ch in text)


# --- CertificationAPI -------------------------------------------------------------------------


@BOTH
def test_create_certification_key_contract(seller: User, fmt: str) -> None:
    """CreateCertificationKey(user_id, pwd) answers the key as a String; a wrong login -10001."""
    seller.set_password("secret-pw-123")
    seller.save()
    key = qapi_key(seller)
    ok = call(
        "CertificationAPI.CreateCertificationKey",
        key,
        fmt=fmt,
        user_id=seller.username,
        pwd="secret-pw-123",
    )
    assert ok["ResultCode"] == 0 and ok["ResultMsg"] == "SUCCESS"
    if fmt == "json":
        assert isinstance(ok["ResultObject"], str) and ok["ResultObject"]
    else:
        assert ok["root"] == "StdCustomResultOfString" and ok["ResultObject"].text
    wrong = call(
        "CertificationAPI.CreateCertificationKey", key, fmt=fmt, user_id=seller.username, pwd="x"
    )
    assert_refusal(wrong, -10001)


# --- ShippingBasic: reading -----------------------------------------------------------------------


@BOTH
def test_get_shipping_info_v3_contract(seller: User, buyer: User, fmt: str) -> None:
    """GetShippingInfo_v3 rows: every documented field in order and type, dates as Qoo10 writes
    them, ShippingStatus as its text with the code, paid orders found by payment date."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    result = call(
        "ShippingBasic.GetShippingInfo_v3",
        key,
        fmt=fmt,
        ShippingStatus="3",
        SearchStartDate=today,
        SearchEndDate=today,
        SearchCondition="2",
    )
    assert result["ResultCode"] == 0 and result["ResultMsg"] == "SUCCESS"
    names = [name for name, _kind in SHIPPING_INFO_V3]
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfListOfShippingInfo"
        (tags,) = xml_rows(result, "ShippingInfo")
        assert tags[: len(names)] == names
        return
    (row,) = result["ResultObject"]
    assert_row(row, SHIPPING_INFO_V3)
    assert row["ShippingStatus"] == "Seller confirm(3)"
    assert row["OrderNo"] == order.order_no
    assert DATE_TIME.match(row["OrderDate"]) and DATE_TIME.match(row["PaymentDate"])
    assert row["EstimatedShippingDate"] == order.est_ship_date.isoformat()  # type: ignore[union-attr]
    assert row["AvailableShippingDate"] == order.est_ship_date.isoformat()  # type: ignore[union-attr]
    assert row["ShippingDate"] == row["DeliveredDate"] == ""


@pytest.mark.parametrize("status", ["", "0"])
def test_get_shipping_info_v3_blank_status_lists_statuses_1_and_2(
    seller: User, buyer: User, status: str
) -> None:
    """Blank or 0 ShippingStatus lists the orders still to confirm (1 and 2), not confirmed ones."""
    unpaid = order_in("unpaid", seller=seller, buyer=buyer)
    new = order_in("new", seller=seller, buyer=buyer)
    order_in("confirmed", seller=seller, buyer=buyer)
    order_in("shipped", seller=seller, buyer=buyer)
    result = call("ShippingBasic.GetShippingInfo_v3", qapi_key(seller), ShippingStatus=status)
    assert result["ResultCode"] == 0
    listed = {(r["OrderNo"], r["ShippingStatus"]) for r in result["ResultObject"]}
    assert listed == {
        (unpaid.order_no, "Awaiting shipping(1)"),
        (new.order_no, "On request(2)"),
    }


@BOTH
def test_get_shipping_info_v2_contract(seller: User, buyer: User, fmt: str) -> None:
    """GetShippingInfo_v2 rows carry the older names and the same ShippingStatus text."""
    order_in("shipped", seller=seller, buyer=buyer)
    result = call("ShippingBasic.GetShippingInfo_v2", qapi_key(seller), fmt=fmt, ShippingStat="4")
    assert result["ResultCode"] == 0
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfListOfShippingInfo"
        (tags,) = xml_rows(result, "ShippingInfo")
        assert tags[:4] == ["shippingStatus", "sellerID", "packNo", "orderDate"]
        return
    (row,) = result["ResultObject"]
    assert row["shippingStatus"] == "On delivery(4)"
    assert isinstance(row["orderNo"], int) and isinstance(row["packNo"], int)
    assert DATE_TIME.match(row["ShippingDate"])


def test_shipping_lists_read_a_fixed_number_of_queries(
    seller: User, buyer: User, django_assert_max_num_queries: Any
) -> None:
    """Both shipping lists read their orders in a fixed number of queries, however many carts."""
    for _ in range(6):
        place_cart(shop=seller.shop, buyer=buyer, prices=[1000, 2000])  # type: ignore[arg-type]
    key = qapi_key(seller)
    call("ShippingBasic.GetShippingInfo_v3", key)  # the key's last use is written once
    for method in ("ShippingBasic.GetShippingInfo_v3", "ShippingBasic.GetShippingInfo_v2"):
        with django_assert_max_num_queries(4):
            result = call(method, key, ShippingStatus="2", ShippingStat="2")
        assert len(result["ResultObject"]) == 12


@BOTH
def test_get_shipping_and_claim_info_by_order_no_v2_contract(
    seller: User, buyer: User, fmt: str
) -> None:
    """GetShippingAndClaimInfoByOrderNo_V2 answers one ShippingClaimInfo_V2 row with every
    documented field; paymentReturnShipping is a string."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    result = call(
        "ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2",
        qapi_key(seller),
        fmt=fmt,
        OrderNo=str(order.order_no),
    )
    assert result["ResultCode"] == 0
    names = [name for name, _kind in SHIPPING_CLAIM_INFO_V2]
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfListOfShippingClaimInfo_V2"
        (tags,) = xml_rows(result, "ShippingClaimInfo_V2")
        assert set(names) <= set(tags)
        return
    (row,) = result["ResultObject"]
    assert set(names) <= set(row)
    wrong = [(n, row[n]) for n, kind in SHIPPING_CLAIM_INFO_V2 if not typed(row[n], kind)]
    assert wrong == []
    assert row["claimStatus"] == "4" and row["shippingStatus"] == "Delivered(5)"


@pytest.mark.parametrize("order_no", ["²", "１２", "١٢", "12a", "-3", "0", "9" * 30])
def test_malformed_order_numbers_are_parameter_errors(seller: User, order_no: str) -> None:
    """An order number that is not ASCII digits is the method's own error, never -99999."""
    key = qapi_key(seller)
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    for method, params, code in (
        ("ShippingBasic.GetShippingAndClaimInfoByOrderNo_V2", {"OrderNo": order_no}, -10001),
        ("ShippingBasic.SetSellerCheckYN_V2", {"OrderNo": order_no, "EstShipDt": tomorrow}, -10001),
        (
            "ShippingBasic.SetSendingInfo",
            {"OrderNo": order_no, "ShippingCorp": "a", "TrackingNo": "b"},
            -10001,
        ),
        ("Claim.SetCancelProcess", {"ContrNo": order_no}, -10002),
    ):
        assert_refusal(call(method, key, **params), code)


@BOTH
def test_get_claim_info_v3_contract(seller: User, buyer: User, fmt: str) -> None:
    """GetClaimInfo_V3 rows: ClaimInfo_V2's fields in order and type; dates required (-10002),
    at most 90 days (-10003), with Qoo10's messages."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    result = call(
        "ShippingBasic.GetClaimInfo_V3", key, fmt=fmt, search_Sdate=today, search_Edate=today
    )
    assert result["ResultCode"] == 0
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfListOfClaimInfo_V2"
        (tags,) = xml_rows(result, "ClaimInfo_V2")
        assert tags[: len(CLAIM_INFO_V2)] == [name for name, _kind in CLAIM_INFO_V2]
    else:
        (row,) = result["ResultObject"]
        assert_row(row, CLAIM_INFO_V2)
        assert row["claimStatus"] == "1" and DATE_TIME.match(row["requestDate"])
    assert_refusal(call("ShippingBasic.GetClaimInfo_V3", key, fmt=fmt), -10002, "Search Date Error")
    assert_refusal(
        call(
            "ShippingBasic.GetClaimInfo_V3",
            key,
            fmt=fmt,
            search_Sdate="20240101",
            search_Edate="20240601",
        ),
        -10003,
        "Searching period exceeds to 90 days.",
    )


def test_get_claim_info_v3_reads_a_fixed_number_of_queries(
    seller: User, buyer: User, django_assert_max_num_queries: Any
) -> None:
    """GetClaimInfo_V3 reads its claims in a fixed number of queries, however many."""
    for _ in range(5):
        claim_request_cancel(
            actor=buyer,
            order=order_in("confirmed", seller=seller, buyer=buyer),
            reason="EDIT_ORDER",
        )
    key = qapi_key(seller)
    today = ymd(timezone.localdate())
    call("ShippingBasic.GetClaimInfo_V3", key, search_Sdate=today, search_Edate=today)
    with django_assert_max_num_queries(3):
        result = call("ShippingBasic.GetClaimInfo_V3", key, search_Sdate=today, search_Edate=today)
    assert len(result["ResultObject"]) == 5


# --- ShippingBasic: writing -------------------------------------------------------------------------


@BOTH
def test_set_seller_check_yn_v2_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetSellerCheckYN_V2 answers a plain StdResult; EstShipDt missing is -10016 "EstShipDt is
    null"; a DelayType that is not 1-4 in ASCII digits is -10001, never -99999."""
    order = order_in("new", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    no = str(order.order_no)
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    assert_refusal(
        call("ShippingBasic.SetSellerCheckYN_V2", key, fmt=fmt, OrderNo=no),
        -10016,
        "EstShipDt is null",
    )
    for delay in ("²", "x", "9"):
        bad = call(
            "ShippingBasic.SetSellerCheckYN_V2",
            key,
            fmt=fmt,
            OrderNo=no,
            EstShipDt=tomorrow,
            DelayType=delay,
        )
        assert_refusal(bad, -10001)
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.REQUESTED and order.delay_type is None
    ok = call("ShippingBasic.SetSellerCheckYN_V2", key, fmt=fmt, OrderNo=no, EstShipDt=tomorrow)
    assert ok["ResultCode"] == 0 and ok["ResultMsg"] == "SUCCESS"
    if fmt == "xml":
        assert ok["root"] == "StdResult" and ok["ResultObject"] is None
    else:
        assert ok["ResultObject"] is None


@BOTH
def test_set_seller_check_yn_bulk_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetSellerCheckYNBulk rows carry cont_no, result_cd, ResultCode and ResultMsg (integers
    where Qoo10 has Int32), English messages per row."""
    new = order_in("new", seller=seller, buyer=buyer)
    tomorrow = ymd(timezone.localdate() + dt.timedelta(days=1))
    rows = [
        {"OrderNo": str(new.order_no), "EstShipDt": tomorrow, "DelayType": "", "DelayMemo": ""},
        {"OrderNo": str(new.order_no), "EstShipDt": tomorrow, "DelayType": "", "DelayMemo": ""},
        {"OrderNo": "²", "EstShipDt": tomorrow},
    ]
    result = call(
        "ShippingBasic.SetSellerCheckYNBulk",
        qapi_key(seller),
        fmt=fmt,
        SendPlanDtInfoJson=json.dumps(rows),
    )
    assert result["ResultCode"] == 0
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfListOfBulkResult"
        tags = xml_rows(result, "BulkResult")
        assert all("cont_no" in t and "contr_no" not in t for t in tags)
        return
    got = result["ResultObject"]
    assert [(r["cont_no"], r["result_cd"], r["ResultCode"]) for r in got] == [
        (new.order_no, 0, 0),
        (new.order_no, -10012, -10012),
        (0, -10001, -10001),
    ]
    assert all("contr_no" not in r and r["ResultMsg"].isascii() for r in got)


@BOTH
def test_set_sending_info_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetSendingInfo answers a plain StdResult; a delivered order is -10004 in English."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    delivered = order_in("delivered", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    ok = call(
        "ShippingBasic.SetSendingInfo",
        key,
        fmt=fmt,
        OrderNo=str(order.order_no),
        ShippingCorp="ゆうパック",
        TrackingNo="1234567890AA",
    )
    assert ok["ResultCode"] == 0 and ok["ResultMsg"] == "SUCCESS"
    if fmt == "xml":
        assert ok["root"] == "StdResult"
    wrong = call(
        "ShippingBasic.SetSendingInfo",
        key,
        fmt=fmt,
        OrderNo=str(delivered.order_no),
        ShippingCorp="a",
        TrackingNo="b",
    )
    assert_refusal(wrong, -10004)
    assert has_cjk(wrong["ResultDetail"])  # the service's reason, in the owner's Chinese


@BOTH
def test_set_sending_info_bulk_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetSendingInfoBulk rows carry contr_no, result_cd and the carrier name transc_nm."""
    confirmed = order_in("confirmed", seller=seller, buyer=buyer)
    delivered = order_in("delivered", seller=seller, buyer=buyer)
    rows = [
        {"OrderNo": str(confirmed.order_no), "ShippingCorp": "Qxpress", "TrackingNo": "A1"},
        {"OrderNo": str(delivered.order_no), "ShippingCorp": "Qxpress", "TrackingNo": "B1"},
    ]
    result = call(
        "ShippingBasic.SetSendingInfoBulk",
        qapi_key(seller),
        fmt=fmt,
        ShippingInfoJson=json.dumps(rows),
    )
    assert result["ResultCode"] == 0
    if fmt == "xml":
        tags = xml_rows(result, "BulkResult")
        assert all({"contr_no", "result_cd", "transc_nm"} <= set(t) for t in tags)
        assert all("cont_no" not in t for t in tags)
        return
    got = result["ResultObject"]
    assert [(r["contr_no"], r["result_cd"], r["transc_nm"]) for r in got] == [
        (confirmed.order_no, 0, "Qxpress"),
        (delivered.order_no, -10004, "Qxpress"),
    ]
    assert all("cont_no" not in r and r["ResultMsg"].isascii() for r in got)


# --- Claim ----------------------------------------------------------------------------------------


@BOTH
def test_set_cancel_process_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetCancelProcess(ContrNo, CancelReason, SellerMemo, returnFeeStat): StdResult; -10001 a
    CancelReason outside blank/1/2/3, -10002 no such order, -10004 a shipped order."""
    new = order_in("new", seller=seller, buyer=buyer)
    shipped = order_in("shipped", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    assert_refusal(
        call("Claim.SetCancelProcess", key, fmt=fmt, ContrNo=str(new.order_no), CancelReason="7"),
        -10001,
    )
    assert_refusal(
        call("Claim.SetCancelProcess", key, fmt=fmt, ContrNo="999"),
        -10002,
        "No order information.",
    )
    assert_refusal(
        call(
            "Claim.SetCancelProcess",
            key,
            fmt=fmt,
            ContrNo=str(shipped.order_no),
            CancelReason="3",
            ConfirmWithoutNotice="Y",
        ),
        -10004,
    )
    ok = call(
        "Claim.SetCancelProcess",
        key,
        fmt=fmt,
        ContrNo=str(new.order_no),
        CancelReason="2",
        SellerMemo="配送不可",
        returnFeeStat="",
        ConfirmWithoutNotice="Y",
    )
    assert ok["ResultCode"] == 0 and ok["ResultMsg"] == "SUCCESS"
    if fmt == "xml":
        assert ok["root"] == "StdResult"
    assert Claim.objects.get(order=new).reason_code == "UNDELIVERABLE_REGION"


def test_set_cancel_process_takes_up_a_buyers_request_only_with_reason_1(
    seller: User, buyer: User
) -> None:
    """CancelReason 1 approves the buyer's cancel request; without a request it is refused."""
    requested = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=requested, reason="EDIT_ORDER")
    plain = order_in("new", seller=seller, buyer=buyer)
    key = qapi_key(seller)
    refused = call("Claim.SetCancelProcess", key, ContrNo=str(plain.order_no), CancelReason="1")
    assert_refusal(refused, -10004)
    assert not Claim.objects.filter(order=plain).exists()
    ok = call("Claim.SetCancelProcess", key, ContrNo=str(requested.order_no), CancelReason="1")
    assert ok["ResultCode"] == 0
    # a card refund: the cancel completes when the worker has given the money back
    assert Claim.objects.get(order=requested).status == ClaimStatus.CANCELLING


@BOTH
def test_set_claim_accept_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetClaimAccept: StdResult; without seller_* and without a default address the exchange is
    refused (-10004) and nothing changes; another order is -10002."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
    key = qapi_key(seller)
    refused = call("Claim.SetClaimAccept", key, fmt=fmt, orderNo=str(order.order_no))
    assert_refusal(refused, -10004)
    assert has_cjk(refused["ResultDetail"])
    assert Claim.objects.get(order=order).status == ClaimStatus.EXCHANGE_REQUESTED
    assert_refusal(call("Claim.SetClaimAccept", key, fmt=fmt, orderNo="999"), -10002)
    no_zip = call(
        "Claim.SetClaimAccept", key, fmt=fmt, orderNo=str(order.order_no), seller_name="店"
    )
    assert_refusal(no_zip, -10001)  # the address is checked as the address book checks it
    assert Claim.objects.get(order=order).status == ClaimStatus.EXCHANGE_REQUESTED
    ok = call(
        "Claim.SetClaimAccept",
        key,
        fmt=fmt,
        orderNo=str(order.order_no),
        seller_name="Qoo10ショップ",
        seller_zip_code="000-0000",
        seller_front_address="OO県OOO市",
    )
    assert ok["ResultCode"] == 0
    if fmt == "xml":
        assert ok["root"] == "StdResult"


@BOTH
def test_set_claim_redelivery_contract(seller: User, buyer: User, fmt: str) -> None:
    """SetClaimRedelivery on an order without an approved exchange is -10004; no order -10002."""
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="WRONG_ITEM", exchange=True)
    key = qapi_key(seller)
    params = {
        "redelivery_date": ymd(timezone.localdate() + dt.timedelta(days=1)),
        "invoice_no": "R-1",
        "del_comapny_name": "ヤマト運輸",
    }
    not_yet = call("Claim.SetClaimRedelivery", key, fmt=fmt, orderNo=str(order.order_no), **params)
    assert_refusal(not_yet, -10004)
    assert_refusal(call("Claim.SetClaimRedelivery", key, fmt=fmt, orderNo="999", **params), -10002)


# --- ItemsLookup --------------------------------------------------------------------------------


@BOTH
def test_get_all_goods_info_contract(
    seller: User, other_seller: User, buyer: User, fmt: str
) -> None:
    """GetAllGoodsInfo(ItemStatus, Page) answers {TotalItems, TotalPages, PresentPage, Items} with
    ItemCode, SellerCode, ItemStatus per item: the shop's items from its orders, on sale (S2)."""
    order = order_in("new", seller=seller, buyer=buyer)
    order_in("new", seller=other_seller, buyer=buyer)
    key = qapi_key(seller)
    result = call("ItemsLookup.GetAllGoodsInfo", key, fmt=fmt, ItemStatus="S2", Page="1")
    assert result["ResultCode"] == 0 and result["ResultMsg"] == "SUCCESS"
    if fmt == "xml":
        assert result["root"] == "StdCustomResultOfAllGoodsInfo"
        obj = result["ResultObject"]
        assert [child.tag for child in obj] == ["TotalItems", "TotalPages", "PresentPage", "Items"]
        (item,) = obj.find("Items")
        assert [(c.tag, c.text) for c in item] == [
            ("ItemCode", order.item_code),
            ("SellerCode", order.seller_item_code),
            ("ItemStatus", "S2"),
        ]
        return
    assert result["ResultObject"] == {
        "TotalItems": 1,
        "TotalPages": 1,
        "PresentPage": 1,
        "Items": [
            {"ItemCode": order.item_code, "SellerCode": order.seller_item_code, "ItemStatus": "S2"}
        ],
    }
    waiting = call("ItemsLookup.GetAllGoodsInfo", key, ItemStatus="S1")["ResultObject"]
    assert (waiting["TotalItems"], waiting["Items"]) == (0, [])
    for bad in ({"ItemStatus": "S9"}, {"ItemStatus": "S2", "Page": "²"}):
        assert_refusal(call("ItemsLookup.GetAllGoodsInfo", key, **bad), -10001)


def test_get_all_goods_info_pages_500_items(
    seller: User, django_assert_max_num_queries: Any
) -> None:
    """Items come 500 a page in item code order; a page past the end is empty."""
    Item.objects.bulk_create(
        Item(shop=seller.shop, item_code=f"{700000000 + n}", title=f"item {n}", price_minor=100)
        for n in range(501)
    )
    key = qapi_key(seller)
    call("ItemsLookup.GetAllGoodsInfo", key)
    pages = []
    for page in ("", "2", "3"):
        with django_assert_max_num_queries(4):
            pages.append(call("ItemsLookup.GetAllGoodsInfo", key, Page=page)["ResultObject"])
    assert [(p["TotalItems"], p["TotalPages"], p["PresentPage"]) for p in pages] == [
        (501, 2, 1),
        (501, 2, 2),
        (501, 2, 3),
    ]
    assert [len(p["Items"]) for p in pages] == [500, 1, 0]
    assert pages[1]["Items"][0]["ItemCode"] == "700000500"


@BOTH
def test_get_item_detail_info_contract(
    seller: User, other_seller: User, buyer: User, fmt: str
) -> None:
    """GetItemDetailInfo(ItemCode, SellerCode) answers a one-row list, every field a string;
    another shop's item is -10001 with Qoo10's message."""
    order = order_in("new", seller=seller, buyer=buyer)
    theirs = ItemFactory(shop=other_seller.shop)
    key = qapi_key(seller)
    by_code = call("ItemsLookup.GetItemDetailInfo", key, fmt=fmt, ItemCode=order.item_code)
    by_seller_code = call(
        "ItemsLookup.GetItemDetailInfo", key, fmt=fmt, SellerCode=order.seller_item_code
    )
    for result in (by_code, by_seller_code):
        assert result["ResultCode"] == 0
        if fmt == "xml":
            assert result["root"] == "StdCustomResultOfListOfItemDetailInfo"
            assert xml_rows(result, "ItemDetailInfo") == [ITEM_DETAIL_INFO]
            continue
        (row,) = result["ResultObject"]
        assert list(row) == ITEM_DETAIL_INFO
        assert all(isinstance(v, str) for v in row.values())
        assert (row["ItemCode"], row["SellerCode"], row["ItemTitle"], row["ItemStatus"]) == (
            order.item_code,
            order.seller_item_code,
            order.item.title,
            "S2",
        )
        assert row["ItemPrice"] == str(order.item.price_minor)  # JPY: whole yen
    assert_refusal(
        call("ItemsLookup.GetItemDetailInfo", key, fmt=fmt, ItemCode=theirs.item_code),
        -10001,
        "Fail to find Item information with 'ItemCode','SellerCode'.",
    )


@pytest.mark.parametrize(
    "method",
    [
        "ItemsBasic.SetNewGoods",
        "ItemsBasic.UpdateGoods",
        "ItemsBasic.EditGoodsStatus",
        "ItemsOrder.SetGoodsPriceQty",
        "ItemsContents.EditGoodsContents",
    ],
)
def test_item_writes_do_not_exist(seller: User, method: str) -> None:
    """claimdesk is not the catalogue: Qoo10's item writes answer -90001."""
    result = call(method, qapi_key(seller), ItemCode="1")
    assert_refusal(result, -90001, "The API does not exist")


def test_read_only_key_may_read_items(seller: User, buyer: User) -> None:
    """The item lookups only read: a read-only key may call them."""
    order_in("new", seller=seller, buyer=buyer)
    key = qapi_key(seller, write=False)
    assert call("ItemsLookup.GetAllGoodsInfo", key)["ResultCode"] == 0


def test_envelope_is_json_without_detail_on_success(seller: User) -> None:
    """A success answers exactly ResultObject, ResultCode and ResultMsg, as Qoo10 does."""
    from django.test import Client

    response = Client().post(
        f"{BASE}/ItemsLookup.GetAllGoodsInfo",
        {"returnType": "application/json"},
        headers={"GiosisCertificationKey": qapi_key(seller)},
    )
    assert list(json.loads(response.content)) == ["ResultObject", "ResultCode", "ResultMsg"]


def test_orders_keep_their_items(seller: User, buyer: User) -> None:
    """The items GetAllGoodsInfo lists are those the shop's orders bought."""
    orders = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    got = call("ItemsLookup.GetAllGoodsInfo", qapi_key(seller))["ResultObject"]["Items"]
    assert sorted(i["ItemCode"] for i in got) == sorted(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("item_code", flat=True)
    )
