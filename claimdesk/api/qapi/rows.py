"""The rows of the QAPI list answers, with Qoo10's field names, in its order."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from claimdesk.claims.models import Claim
from claimdesk.claims.selectors import claim_values
from claimdesk.core.money import minor_units
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.orders.selectors import cart_order_numbers

from .envelope import date_text, date_texts, money_value


def related_orders(order: Order) -> str:
    """Return the other order numbers of the order's cart, comma-separated (Qoo10's RelatedOrder)."""
    siblings = getattr(order.cart, "_qapi_order_nos", None)
    if siblings is None:
        siblings = cart_order_numbers([order.cart_id]).get(order.cart_id, [])
        order.cart._qapi_order_nos = siblings  # type: ignore[attr-defined]
    return ",".join(str(n) for n in siblings if n != order.order_no)


#: ShippingStatus as Qoo10 writes it in shipping rows: its English text with the code.
SHIPPING_STATUS_TEXT: dict[int, str] = {
    ShippingStatus.AWAITING_PAYMENT: "Awaiting shipping(1)",
    ShippingStatus.REQUESTED: "On request(2)",
    ShippingStatus.CONFIRMED: "Seller confirm(3)",
    ShippingStatus.ON_DELIVERY: "On delivery(4)",
    ShippingStatus.DELIVERED: "Delivered(5)",
}


def shipping_status_text(code: int) -> str:
    """Return Qoo10's text of a shipping status code, e.g. "On request(2)"."""
    return SHIPPING_STATUS_TEXT.get(code, f"({code})")


def shipping_row_v3(order: Order) -> dict[str, Any]:
    """One order as GetShippingInfo_v3 answers it: Qoo10's PascalCase names, in its order."""
    cart = order.cart
    buyer = order.buyer
    currency = order.currency
    discount = order.seller_discount_minor
    return {
        "ShippingStatus": shipping_status_text(order.shipping_status),
        "SellerID": order.shop.code,
        "PackNo": cart.cart_no,
        "OrderDate": date_text(order.ordered_at),
        "PaymentDate": date_text(order.paid_at),
        "EstimatedShippingDate": date_text(order.est_ship_date),
        "ShippingDate": date_text(order.shipped_at),
        "DeliveredDate": date_text(order.delivered_at),
        "Buyer": str(buyer),
        "BuyerKana": buyer.kana_name,
        "BuyerTel": "",
        "BuyerMobile": "",
        "BuyerEmail": "",
        "OrderNo": order.order_no,
        "ItemNo": order.item_code,
        "SellerItemCode": order.seller_item_code,
        "ItemTitle": order.item_title,
        "Option": order.option_text,
        "OptionCode": order.option_code,
        "OrderPrice": money_value(order.unit_price_minor, currency),
        "OrderQty": order.quantity,
        "Discount": money_value(discount, currency),
        "Total": money_value(order.total_minor, currency),
        "Receiver": order.receiver_name,
        "ReceiverKana": order.receiver_kana,
        "ZipCode": order.receiver_zip,
        "ShippingAddress": f"{order.receiver_address} {order.receiver_address2}".strip(),
        "Address1": order.receiver_address,
        "Address2": order.receiver_address2,
        "ReceiverTel": order.receiver_phone,
        "ReceiverMobile": order.receiver_mobile,
        "DesiredDeliveryDate": "",
        "SenderName": "",
        "SenderTel": "",
        "SenderNation": "",
        "SenderZipCode": "",
        "SenderAddress": "",
        "ShippingWay": order.shipping_way,
        "ShippingMessage": "",
        "PaymentMethod": cart.payment_method,
        "SellerDiscount": money_value(discount, currency),
        "Currency": currency,
        "ShippingRate": money_value(cart.shipping_fee_minor, currency),
        "RelatedOrder": related_orders(order),
        "ShippingRateType": "",
        "DeliveryCompany": order.carrier,
        "VoucherCode": "",
        "PackingNo": "",
        "SellerDeliveryNo": "",
        "Gift": "",
        "CartDiscountSeller": money_value(order.cart_seller_discount_minor, currency),
        "CartDiscountQoo10": money_value(order.cart_platform_discount_minor, currency),
        "SettlePrice": money_value(order.settle_price_minor, currency),
        "BranchName": "",
        "TrackingNo": order.tracking_no,
        "Material": "",
        "AvailableSendType": "",
        "AvailableShippingDate": (
            order.est_ship_date.isoformat() if order.est_ship_date is not None else ""
        ),
        # claimdesk's own, after Qoo10's fields
        "PaymentNation": order.order_country,
        "DelayType": str(order.delay_type or ""),
    }


def shipping_row_v2(order: Order) -> dict[str, Any]:
    """One order as GetShippingInfo_v2 answers it: Qoo10's older, mostly lowerCamel names."""
    cart = order.cart
    buyer = order.buyer
    currency = order.currency
    discount = order.seller_discount_minor
    return {
        "shippingStatus": shipping_status_text(order.shipping_status),
        "sellerID": order.shop.code,
        "packNo": cart.cart_no,
        "orderDate": date_text(order.ordered_at),
        "PaymentDate": date_text(order.paid_at),
        "EstShippingDate": date_text(order.est_ship_date),
        "ShippingDate": date_text(order.shipped_at),
        "DeliveredDate": date_text(order.delivered_at),
        "buyer": str(buyer),
        "buyer_gata": buyer.kana_name,
        "buyerTel": "",
        "buyerMobile": "",
        "buyerEmail": "",
        "orderNo": order.order_no,
        "itemCode": order.item_code,
        "sellerItemCode": order.seller_item_code,
        "itemTitle": order.item_title,
        "option": order.option_text,
        "optionCode": order.option_code,
        "orderPrice": money_value(order.unit_price_minor, currency),
        "orderQty": order.quantity,
        "discount": money_value(discount, currency),
        "total": money_value(order.total_minor, currency),
        "receiver": order.receiver_name,
        "receiver_gata": order.receiver_kana,
        "shippingCountry": order.receiver_country,
        "zipCode": order.receiver_zip,
        "shippingAddr": f"{order.receiver_address} {order.receiver_address2}".strip(),
        "Addr1": order.receiver_address,
        "Addr2": order.receiver_address2,
        "receiverTel": order.receiver_phone,
        "receiverMobile": order.receiver_mobile,
        "hopeDate": "",
        "senderName": "",
        "senderTel": "",
        "senderNation": "",
        "senderZipCode": "",
        "senderAddr": "",
        "ShippingWay": order.shipping_way,
        "ShippingMsg": "",
        "PaymentMethod": cart.payment_method,
        "SellerDiscount": money_value(discount, currency),
        "Currency": currency,
        "ShippingRate": money_value(cart.shipping_fee_minor, currency),
        "RelatedOrder": related_orders(order),
        "shippingRateType": "",
        "DeliveryCompany": order.carrier,
        "VoucherCode": "",
        "PackingNo": "",
        "SellerDeliveryNo": "",
        "PaymentNation": order.order_country,
        "Gift": "",
        "cod_price": 0,
        "Cart_Discount_Seller": money_value(order.cart_seller_discount_minor, currency),
        "Cart_Discount_Qoo10": money_value(order.cart_platform_discount_minor, currency),
        "SettlePrice": money_value(order.settle_price_minor, currency),
        "BranchName": "",
        "TrackingNo": order.tracking_no,
        "DelayType": str(order.delay_type or ""),
    }


#: The columns a ClaimInfo_V2 row is made of, read as plain values in this order: no model
#: instances (a 90-day answer of a big shop is 20,000 rows). `partial_refund_minor` is
#: annotated by `claim_values`.
CLAIM_ROW_COLUMNS = (
    "status",
    "completed_at",
    "reason_code",
    "requested_at",
    "order__ordered_at",
    "order__paid_at",
    "order__shipped_at",
    "order__delivered_at",
    "order__order_no",
    "order__cart__cart_no",
    "order__item_code",
    "order__seller_item_code",
    "order__item_title",
    "order__quantity",
    "order__order_country",
    "order__currency",
    "order__total_minor",
    "order__carrier",
    "order__tracking_no",
    "pickup_carrier",
    "order__receiver_zip",
    "return_shipping_deduction_minor",
    "order__receiver_name",
    "order__receiver_phone",
    "order__receiver_mobile",
    "buyer__display_name",
    "buyer__username",
    "non_receipt_duty",
    "non_receipt_solution",
    "missing_quantity",
    "partial_refund_minor",
    "seller_memo",
)


def claim_rows(claims: QuerySet[Claim]) -> list[dict[str, Any]]:
    """Return the claims as ClaimInfo_V2 rows (Qoo10's names), in the queryset's order.

    One query (`claims.selectors.claim_values`); each distinct date is formatted
    once and each currency's minor units looked up once.
    """
    date = date_texts()
    zero_places: dict[str, bool] = {}

    def money(minor: int, currency: str) -> int | float:
        whole = zero_places.get(currency)
        if whole is None:
            whole = zero_places[currency] = minor_units(currency) == 0
        return minor if whole else money_value(minor, currency)

    rows = []
    for (
        status,
        completed_at,
        reason_code,
        requested_at,
        ordered_at,
        paid_at,
        shipped_at,
        delivered_at,
        order_no,
        cart_no,
        item_code,
        seller_item_code,
        item_title,
        quantity,
        order_country,
        currency,
        total_minor,
        carrier,
        tracking_no,
        pickup_carrier,
        receiver_zip,
        return_shipping_deduction_minor,
        receiver_name,
        receiver_phone,
        receiver_mobile,
        buyer_display_name,
        buyer_username,
        non_receipt_duty,
        non_receipt_solution,
        missing_quantity,
        partial_refund_minor,
        seller_memo,
    ) in claim_values(claims, CLAIM_ROW_COLUMNS):
        rows.append(
            {
                "claimStatus": str(status),
                "cancelRefundDate": date(completed_at),
                "reason": reason_code,
                "requestDate": date(requested_at),
                "orderDate": date(ordered_at),
                "PaymentDate": date(paid_at),
                "shippingDate": date(shipped_at),
                "DeliveredDate": date(delivered_at),
                "orderNo": order_no,
                "packNo": cart_no,
                "itemCode": item_code,
                "sellerItemCode": seller_item_code,
                "itemTitle": item_title,
                "orderQty": quantity,
                "paymentNation": order_country,
                "currency": currency,
                "paymentAmount": money(total_minor, currency),
                "deliveryCompany": carrier,
                "trackingNo": tracking_no,
                "deliveryCompanyReturn": pickup_carrier,
                "trackingNoReturn": "",
                "pickupAddress": "",
                "zipCode": receiver_zip,
                "paymentReturnShipping": str(money(return_shipping_deduction_minor, currency)),
                "itemCondition": "",
                "receiver": receiver_name,
                "receiverTel": receiver_phone,
                "receiverMobile": receiver_mobile,
                "buyer": buyer_display_name or buyer_username,  # str(User)
                "buyerTel": "",
                "buyerMobile": "",
                "CODCancelPrice": 0,
                "CODQrefundPrice": 0,
                "CODCancelRelatedOrder": "",
                "nrDutyTarget": non_receipt_duty,
                "nrSolType": non_receipt_solution,
                "nrPartRefundCnt": missing_quantity or 0,
                "nrPartRefundBalance": money(partial_refund_minor or 0, currency),
                "sellerMemo": seller_memo,
            }
        )
    return rows


def preload_related_orders(orders: list[Order]) -> None:
    """Read the order numbers of every cart of `orders` at once, for `related_orders`."""
    siblings = cart_order_numbers([o.cart_id for o in orders])
    for order in orders:
        order.cart._qapi_order_nos = siblings.get(order.cart_id, [])  # type: ignore[attr-defined]
