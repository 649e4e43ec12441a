"""Saved replies (常用的回复): the built-in ones, and filling placeholders.

Built-in replies are code data, the same for every shop. Their texts are
written for the buyer (not through gettext, which follows the *reader's*
language of the page): each exists in every note language, and the seller
picks the buyer's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

#: The languages of note texts and of the translator (code -> label).
NOTE_LANGUAGES: dict[str, Promise] = {
    "ja": _("Japanese"),
    "zh-hans": _("Chinese (Simplified)"),
    "en": _("English"),
    "ko": _("Korean"),
}

PLACEHOLDERS = ("order_no", "item", "buyer_name", "est_ship_date", "today")
PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")

Texts = dict[str, dict[str, str]]


@dataclass(frozen=True)
class BuiltinReply:
    code: str
    name: Promise
    category: str
    texts: Texts


BUILTIN_REPLIES: tuple[BuiltinReply, ...] = (
    BuiltinReply(
        "out_of_stock",
        _("Out of stock (cancel)"),
        "cancel_refund",
        {
            "ja": {
                "title": "【注文番号{order_no}】在庫切れによるキャンセルのお知らせ",
                "body": "{buyer_name}様\nこの度はご注文いただき誠にありがとうございます。\n"
                "大変申し訳ございませんが、ご注文の「{item}」は在庫切れのため発送できません。"
                "注文番号{order_no}はキャンセルとさせていただき、代金は全額返金いたします。\n"
                "ご迷惑をおかけして申し訳ございません。",
            },
            "zh-hans": {
                "title": "【订购号码{order_no}】缺货取消通知",
                "body": "{buyer_name}您好：\n感谢您的订购。\n"
                "非常抱歉，您订购的“{item}”目前缺货，无法发货。"
                "订购号码{order_no}将被取消，货款将全额退还。\n"
                "给您带来不便，深表歉意。",
            },
            "en": {
                "title": "[Order {order_no}] Cancelled: out of stock",
                "body": "Dear {buyer_name},\nThank you for your order.\n"
                "We are very sorry, but {item} is out of stock and cannot be shipped. "
                "Order {order_no} will be cancelled and the full amount refunded.\n"
                "We apologise for the inconvenience.",
            },
            "ko": {
                "title": "[주문번호 {order_no}] 품절로 인한 취소 안내",
                "body": "{buyer_name}님\n주문해 주셔서 감사합니다.\n"
                "죄송하지만 주문하신 「{item}」은(는) 품절되어 발송할 수 없습니다. "
                "주문번호 {order_no}은(는) 취소되며 결제 금액은 전액 환불됩니다.\n"
                "불편을 드려 죄송합니다.",
            },
        },
    ),
    BuiltinReply(
        "delay",
        _("Shipping delay"),
        "shipping",
        {
            "ja": {
                "title": "【注文番号{order_no}】発送遅延のお知らせ",
                "body": "{buyer_name}様\nご注文の「{item}」の発送が遅れております。"
                "発送予定日は{est_ship_date}です。\n"
                "お急ぎの場合はマイページからキャンセルすることもできます。"
                "ご迷惑をおかけして申し訳ございません。",
            },
            "zh-hans": {
                "title": "【订购号码{order_no}】发货延迟通知",
                "body": "{buyer_name}您好：\n您订购的“{item}”发货有所延迟，"
                "预计发货日为{est_ship_date}。\n"
                "如您着急，也可以在MyQoo10页面取消订单。给您带来不便，深表歉意。",
            },
            "en": {
                "title": "[Order {order_no}] Shipping delayed",
                "body": "Dear {buyer_name},\nShipping of {item} is delayed. "
                "We now expect to ship it on {est_ship_date}.\n"
                "If you cannot wait you may cancel the order on My page. "
                "We apologise for the inconvenience.",
            },
            "ko": {
                "title": "[주문번호 {order_no}] 발송 지연 안내",
                "body": "{buyer_name}님\n주문하신 「{item}」의 발송이 지연되고 있습니다. "
                "발송 예정일은 {est_ship_date}입니다.\n"
                "급하신 경우 마이페이지에서 취소하실 수 있습니다. 불편을 드려 죄송합니다.",
            },
        },
    ),
    BuiltinReply(
        "undeliverable_region",
        _("Undeliverable region (cancel)"),
        "cancel_refund",
        {
            "ja": {
                "title": "【注文番号{order_no}】配送不可地域のためキャンセルのお知らせ",
                "body": "{buyer_name}様\n申し訳ございませんが、お届け先は配送できない地域のため、"
                "「{item}」をお届けできません。注文番号{order_no}はキャンセルとさせていただき、"
                "代金は全額返金いたします。",
            },
            "zh-hans": {
                "title": "【订购号码{order_no}】不可配送地区取消通知",
                "body": "{buyer_name}您好：\n非常抱歉，您的收货地址属于无法配送的地区，"
                "无法为您配送“{item}”。订购号码{order_no}将被取消，货款将全额退还。",
            },
            "en": {
                "title": "[Order {order_no}] Cancelled: we cannot deliver to your region",
                "body": "Dear {buyer_name},\nWe are sorry, but we cannot deliver {item} to your "
                "address's region. Order {order_no} will be cancelled and the full amount refunded.",
            },
            "ko": {
                "title": "[주문번호 {order_no}] 배송 불가 지역으로 인한 취소 안내",
                "body": "{buyer_name}님\n죄송하지만 배송지가 배송 불가 지역이어서 「{item}」을(를) "
                "보내드릴 수 없습니다. 주문번호 {order_no}은(는) 취소되며 결제 금액은 전액 환불됩니다.",
            },
        },
    ),
    BuiltinReply(
        "return_accepted",
        _("Return accepted"),
        "return_exchange",
        {
            "ja": {
                "title": "【注文番号{order_no}】返品受付のお知らせ",
                "body": "{buyer_name}様\n「{item}」の返品を受け付けました。"
                "商品が届き次第、返金の手続きをいたします。",
            },
            "zh-hans": {
                "title": "【订购号码{order_no}】退货受理通知",
                "body": "{buyer_name}您好：\n我们已受理“{item}”的退货。收到商品后将为您办理退款。",
            },
            "en": {
                "title": "[Order {order_no}] Return accepted",
                "body": "Dear {buyer_name},\nWe have accepted the return of {item}. "
                "We will refund you as soon as the item reaches us.",
            },
            "ko": {
                "title": "[주문번호 {order_no}] 반품 접수 안내",
                "body": "{buyer_name}님\n「{item}」의 반품이 접수되었습니다. "
                "상품이 도착하는 대로 환불 처리해 드리겠습니다.",
            },
        },
    ),
    BuiltinReply(
        "refund_completed",
        _("Refund completed"),
        "cancel_refund",
        {
            "ja": {
                "title": "【注文番号{order_no}】返金完了のお知らせ",
                "body": "{buyer_name}様\n注文番号{order_no}（{item}）の返金手続きが"
                "{today}に完了しました。ご確認ください。",
            },
            "zh-hans": {
                "title": "【订购号码{order_no}】退款完成通知",
                "body": "{buyer_name}您好：\n订购号码{order_no}（{item}）的退款已于{today}办理完成，请确认。",
            },
            "en": {
                "title": "[Order {order_no}] Refund completed",
                "body": "Dear {buyer_name},\nThe refund for order {order_no} ({item}) was "
                "completed on {today}. Please check it.",
            },
            "ko": {
                "title": "[주문번호 {order_no}] 환불 완료 안내",
                "body": "{buyer_name}님\n주문번호 {order_no}({item})의 환불이 {today}에 "
                "완료되었습니다. 확인해 주세요.",
            },
        },
    ),
)

BUILTIN_BY_CODE = {reply.code: reply for reply in BUILTIN_REPLIES}


def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """Replace the known {placeholders} of `template`; anything else stays as written."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def placeholder_values(order: Any, today: Any) -> dict[str, str]:
    """Return the placeholder values for `order` (order no, item, buyer name, dates)."""
    buyer = order.buyer
    est = order.est_ship_date
    return {
        "order_no": str(order.order_no),
        "item": order.item_title,
        "buyer_name": (buyer.display_name or buyer.get_full_name() or buyer.username)
        if buyer is not None
        else "",
        "est_ship_date": est.strftime("%Y/%m/%d") if est else "",
        "today": today.strftime("%Y/%m/%d"),
    }


def template_pattern(template: str) -> re.Pattern[str]:
    """Return a regex matching `template` with its placeholders filled by anything."""
    parts: list[str] = []
    seen: set[str] = set()
    at = 0
    for match in PLACEHOLDER_RE.finditer(template):
        parts.append(re.escape(template[at : match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        at = match.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)
