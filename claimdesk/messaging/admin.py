from django.contrib import admin

from .models import Note, NoteDelivery, Notification, PushDevice, SavedReply


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "email", "language", "status", "attempts", "created_at")
    list_filter = ("kind", "status", "language")


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "author_role", "category", "title", "created_at")


@admin.register(NoteDelivery)
class NoteDeliveryAdmin(admin.ModelAdmin):
    list_display = ("note", "channel", "total", "sent", "failed", "status", "updated_at")
    list_filter = ("channel", "status")


@admin.register(PushDevice)
class PushDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "platform", "active", "created_at")
    list_filter = ("platform", "active")


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    list_display = ("shop", "name", "category", "updated_at")
