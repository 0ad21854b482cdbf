from django.contrib import admin

from contacts.models import Block, Contact, ContactRequest


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("owner", "contact", "created_at")
    search_fields = ("owner__username", "contact__username")
    raw_id_fields = ("owner", "contact")
    list_select_related = ("owner", "contact")
    date_hierarchy = "created_at"


@admin.register(ContactRequest)
class ContactRequestAdmin(admin.ModelAdmin):
    list_display = ("from_user", "to_user", "status", "created_at", "responded_at")
    list_filter = ("status", "created_at")
    search_fields = ("from_user__username", "to_user__username", "message")
    raw_id_fields = ("from_user", "to_user")
    list_select_related = ("from_user", "to_user")
    date_hierarchy = "created_at"


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    raw_id_fields = ("blocker", "blocked")
    list_select_related = ("blocker", "blocked")
    date_hierarchy = "created_at"
