from django.contrib import admin

from .models import Claim


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "order",
        "shop",
        "type",
        "status",
        "reason_code",
        "fault",
        "requested_at",
        "completed_at",
    )
    list_filter = ("type", "status", "fault", "shop")
    search_fields = ("order__order_no",)
    raw_id_fields = ("order", "buyer")
