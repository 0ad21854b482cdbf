from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import AccessToken, User
from accounts.services import token_revoke, user_deactivate


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "display_name",
        "email",
        "is_active",
        "is_staff",
        "has_avatar",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Profile", {"fields": ("display_name", "status_text", "avatar")}),
    )
    actions = ["deactivate"]

    @admin.display(boolean=True, description="avatar")
    def has_avatar(self, obj: User) -> bool:
        return bool(obj.avatar)

    @admin.action(description="Deactivate selected users (log them out and close their sockets)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = 0
        for user in queryset.filter(is_active=True):
            user_deactivate(user=user)
            count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        was_active = change and User.objects.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if was_active and not obj.is_active:
            # Unticking "active" must have every consequence of the action.
            user_deactivate(user=obj)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    """Personal access tokens: seen by prefix only, revoked but never edited."""

    list_display = (
        "name",
        "user",
        "prefix",
        "scopes",
        "status",
        "created_at",
        "last_used_at",
        "expires_at",
    )
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = (*list_display, "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Tokens are created by their owners, shown to them once.

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke selected tokens (and close their sockets)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(user=token.user, token_id=token.pk)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
