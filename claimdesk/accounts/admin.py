from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Shop, ShopAddress, ShopPenalty, ShopRestriction, User


@admin.register(User)
class ClaimdeskUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "shop", "language", "is_active")
    list_filter = ("role", "shop", "language")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            "claimdesk",
            {"fields": ("role", "shop", "display_name", "kana_name", "language", "time_zone")},
        ),
    )


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "email", "language")
    search_fields = ("code", "name")


admin.site.register(ShopAddress)
admin.site.register(ShopPenalty)
admin.site.register(ShopRestriction)
