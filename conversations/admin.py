from django.contrib import admin

from conversations.models import Conversation, Membership, Message


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "title", "last_sequence", "last_message_at", "created_at")
    list_filter = ("kind",)
    search_fields = ("title", "memberships__user__username")
    inlines = [MembershipInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "conversation", "sequence", "sender", "created_at")
    search_fields = ("body", "sender__username")
    raw_id_fields = ("conversation", "sender")
    list_select_related = ("sender", "conversation")
