"""ItemsLookup: the shop's items as claimdesk knows them from its orders, read only.

claimdesk is not the catalogue: it knows an item's code, seller code, name and
price from the orders that bought it. Every such item is on sale (S2); the
catalogue's other states (waiting, suspended, refused) are never listed.
"""

from __future__ import annotations

from typing import Any

from claimdesk.orders.selectors import shop_item, shop_items

from .envelope import Context, Params, Result, money_value
from .errors import refused

#: Items per GetAllGoodsInfo page, as Qoo10 pages them.
PAGE_SIZE = 500
#: ItemStatus codes of Qoo10's guide (S4 is named by its error message).
ITEM_STATUSES = {"S0", "S1", "S2", "S3", "S4", "S5", "S8"}
ON_SALE = "S2"
MAX_PAGE = 2**31 - 1


def _page(text: str) -> int:
    digits = text.strip() or "1"
    if not digits.isascii() or not digits.isdigit() or int(digits) > MAX_PAGE:
        raise refused("items", -10001, message="Page is a number from 1.")
    return max(int(digits), 1)


def get_all_goods_info(ctx: Context, p: Params) -> Result:
    """List the shop's items 500 a page: `{TotalItems, TotalPages, PresentPage, Items}`.

    A blank ItemStatus lists every item, as S2 does.
    """
    status = p.get("ItemStatus").upper()
    if status and status not in ITEM_STATUSES:
        raise refused("items", -10001, message="Please enter the correct ItemStatus. (S0/S1/S2/S4)")
    page = _page(p.get("Page"))
    items = shop_items(ctx.actor.shop_id or -1)
    total = items.count() if status in ("", ON_SALE) else 0
    rows: list[dict[str, Any]] = []
    if total > (page - 1) * PAGE_SIZE:
        start = (page - 1) * PAGE_SIZE
        rows = [
            {"ItemCode": code, "SellerCode": seller_code, "ItemStatus": ON_SALE}
            for code, seller_code in items.values_list("item_code", "seller_item_code")[
                start : start + PAGE_SIZE
            ]
        ]
    info = {
        "TotalItems": total,
        "TotalPages": -(-total // PAGE_SIZE),
        "PresentPage": page,
        "Items": rows,
    }
    return Result(info, "AllGoodsInfo", "GoodsInfo")


def get_item_detail_info(ctx: Context, p: Params) -> Result:
    """Return one item by ItemCode (or else SellerCode) as a one-row list, every field a string."""
    code = p.get("ItemCode")
    seller_code = p.get("SellerCode")
    item = shop_item(ctx.actor.shop_id or -1, item_code=code, seller_code=seller_code)
    if item is None:
        raise refused("items", -10001)
    row = {
        "ItemCode": item.item_code,
        "ItemStatus": ON_SALE,
        "ItemTitle": item.title,
        "PromotionName": "",
        "MainCatCd": "",
        "MainCatNm": "",
        "FirstSubCatCd": "",
        "FirstSubCatNm": "",
        "SecondSubCatCd": "",
        "SecondSubCatNm": "",
        "Drugtype": "",
        "SellerCode": item.seller_item_code,
        "ProductionPlaceType": "",
        "ProductionPlace": "",
        "IndustrialCodeType": "",
        "IndustrialCode": "",
        "RetailPrice": "",
        "ItemPrice": str(money_value(item.price_minor, item.currency)),
        "TaxRate": "",
        "SettlePrice": "",
        "ItemQty": "",
        "ExpireDate": "",
        "ModelNM": "",
        "ManufacturerDate": "",
        "BrandNo": "",
        "Material": "",
        "AdultYN": "",
        "DesiredShippingDate": "",
        "AvailableDateType": "",
        "AvailableDateValue": "",
        "ShippingNo": "",
        "ContactInfo": "",
        "ItemDetail": "",
        "ImageUrl": "",
        "VideoURL": "",
        "Keyword": "",
        "ListedDate": "",
        "ChangedDate": "",
        "OptionShippingNo1": "",
        "OptionShippingNo2": "",
    }
    return Result([row], "ListOfItemDetailInfo", "ItemDetailInfo")
