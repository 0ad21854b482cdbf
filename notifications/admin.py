"""Admin views of notifications and their deliveries: what was sent, what failed and why."""

from django.contrib import admin

from notifications.models import (
    ConversationMute,
    EmailBatch,
    Notification,
    Preferences,
    PushDelivery,
    PushSubscription,
)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "text", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("recipient", "actor", "conversation", "message", "email_batch")
    search_fields = ("recipient__username", "text")


@admin.register(EmailBatch)
class EmailBatchAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "conversation",
        "status",
        "message_count",
        "attempts",
        "next_attempt_at",
    )
    list_filter = ("status",)
    raw_id_fields = ("user", "conversation")
    readonly_fields = ("last_error",)


@admin.register(PushDelivery)
class PushDeliveryAdmin(admin.ModelAdmin):
    list_display = ("notification", "endpoint", "status", "attempts", "next_attempt_at")
    list_filter = ("status",)
    raw_id_fields = ("notification", "subscription")
    readonly_fields = ("last_error",)


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "endpoint", "created_at", "last_success_at")
    raw_id_fields = ("user",)


admin.site.register(Preferences, raw_id_fields=("user",))
admin.site.register(ConversationMute, raw_id_fields=("user", "conversation"))
