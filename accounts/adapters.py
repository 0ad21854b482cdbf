"""allauth adapter for social sign-in: unconfigured providers are a 404, names carry over."""

from typing import Any

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.http import Http404, HttpRequest

from accounts.models import User


class ProviderNotConfigured(Http404, SocialApp.DoesNotExist):
    """A sign-in provider without client id and secret: a 404 for people,
    and still what allauth's own code expects to catch."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's adapter, with a 404 for providers that are switched off."""

    def get_app(self, request: HttpRequest, provider: str, client_id: str | None = None) -> Any:
        try:
            return super().get_app(request, provider, client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured("This sign-in provider is not configured.") from None

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict) -> User:
        """Take the display name from the provider's name, when it gives one."""
        user: User = super().populate_user(request, sociallogin, data)
        full = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part)
        user.display_name = (data.get("name") or full or "").strip()[:80]
        return user
