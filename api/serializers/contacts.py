"""Contacts, contact requests and blocks."""

from rest_framework import serializers

from api.serializers.people import PersonSerializer


class UsernameSerializer(serializers.Serializer):
    """Names one person."""

    username = serializers.CharField(max_length=150)


class ContactRequestCreateSerializer(UsernameSerializer):
    """Ask someone to become a contact, with an optional message."""

    message = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")


class ContactRequestSerializer(serializers.Serializer):
    """A contact request, sent or received."""

    id = serializers.IntegerField(source="pk", read_only=True)
    from_user = PersonSerializer(read_only=True)
    to_user = PersonSerializer(read_only=True)
    message = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    responded_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ContactRequestQuerySerializer(serializers.Serializer):
    """Which pending requests to list."""

    direction = serializers.ChoiceField(
        choices=["incoming", "outgoing"],
        default="incoming",
        help_text="incoming: sent to you; outgoing: sent by you.",
    )
