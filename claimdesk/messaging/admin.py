from django.contrib import admin

from .models import Note, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "email", "language", "status", "attempts", "created_at")
    list_filter = ("kind", "status", "language")


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "author_role", "category", "title", "created_at")
