from django.contrib import admin

from .models import LedgerEntry, LedgerTransaction, PaymentFeeRule, Refund, SimulatedGatewaySwitch


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "order",
        "amount_minor",
        "currency",
        "destination",
        "status",
        "attempt",
        "created_at",
    )
    list_filter = ("status", "destination")
    raw_id_fields = ("claim", "order", "buyer")


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    readonly_fields = ("account", "party_id", "order", "amount_minor", "currency")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "order", "cart", "refund", "created_at")
    list_filter = ("kind",)
    inlines = [LedgerEntryInline]


admin.site.register(PaymentFeeRule)
admin.site.register(SimulatedGatewaySwitch)
