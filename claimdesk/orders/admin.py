from django.contrib import admin

from .models import Cart, Item, ItemOption, Order, OrderEvent


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = (
        "created_at",
        "actor",
        "actor_role",
        "kind",
        "field",
        "from_value",
        "to_value",
        "reason",
        "refused",
    )
    readonly_fields = fields
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "order_no",
        "shop",
        "buyer",
        "item_title",
        "shipping_status",
        "total_minor",
        "ordered_at",
        "cancelled_at",
    )
    list_filter = ("shipping_status", "shop")
    search_fields = ("order_no", "cart__cart_no", "item_code")
    raw_id_fields = ("cart", "buyer", "item")
    inlines = [OrderEventInline]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = (
        "cart_no",
        "shop",
        "buyer",
        "payment_method",
        "shipping_fee_minor",
        "payment_fee_minor",
        "paid_at",
    )
    search_fields = ("cart_no",)
    raw_id_fields = ("buyer",)


class ItemOptionInline(admin.TabularInline):
    model = ItemOption
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("item_code", "seller_item_code", "title", "shop", "price_minor")
    inlines = [ItemOptionInline]
