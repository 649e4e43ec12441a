"""Raw inquiry data in Django's admin (the console is where operators work)."""

from django.contrib import admin

from .models import Inquiry, InquiryMessage


class MessageInline(admin.TabularInline):
    model = InquiryMessage
    extra = 0
    fields = ["created_at", "author", "author_role", "action", "body"]
    readonly_fields = ["created_at", "author", "author_role", "action", "body"]


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "category", "subject", "status", "assigned_to", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["subject", "shop__code", "error_reference"]
    raw_id_fields = ["shop", "opened_by", "assigned_to", "orders"]
    inlines = [MessageInline]
