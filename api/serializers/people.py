"""People and one's own profile."""

from django.urls import reverse
from rest_framework import serializers

from accounts.models import User


def avatar_api_url(user: User) -> str | None:
    """Return the API address of a person's avatar, or None for the initials avatar."""
    if not user.avatar:
        return None
    # The file name is in the query, so a new avatar gets a new URL.
    version = user.avatar.name.rsplit("/", 1)[-1]
    return f"{reverse('api:person-avatar', args=[user.username])}?v={version}"


class PersonSerializer(serializers.Serializer):
    """A person as others see them."""

    id = serializers.IntegerField(source="pk", read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True, help_text="Display name, else username.")
    display_name = serializers.CharField(read_only=True)
    status_text = serializers.CharField(read_only=True)
    initials = serializers.CharField(read_only=True)
    avatar = serializers.SerializerMethodField(help_text="Avatar image URL; null: initials.")

    def get_avatar(self, user: User) -> str | None:
        return avatar_api_url(user)


class PersonDetailSerializer(PersonSerializer):
    """A person, with what they are to the viewer."""

    is_contact = serializers.BooleanField(read_only=True)
    blocked = serializers.BooleanField(read_only=True, help_text="You blocked them.")
    online = serializers.BooleanField(
        read_only=True, help_text="Shown to contacts only (false otherwise)."
    )


class ProfileSerializer(PersonSerializer):
    """One's own profile; ``display_name`` and ``status_text`` can be changed."""

    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField(max_length=80, allow_blank=True, required=False)
    status_text = serializers.CharField(max_length=140, allow_blank=True, required=False)


class AvatarUploadSerializer(serializers.Serializer):
    """A new avatar: JPEG, PNG, GIF or WebP (re-encoded to a 256x256 WebP)."""

    avatar = serializers.FileField()


class PeopleQuerySerializer(serializers.Serializer):
    """A people search: a username or display name prefix."""

    q = serializers.CharField(max_length=150, help_text="Prefix of a username or display name.")
