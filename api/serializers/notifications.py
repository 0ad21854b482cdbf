"""Notifications and their preferences."""

import zoneinfo
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.people import PersonSerializer
from notifications.forms import PreferencesForm
from notifications.models import Notification, Preferences


class NotificationSerializer(serializers.ModelSerializer):
    """One notification: a message, a mention, a contact request, an added-to-group."""

    actor = PersonSerializer(read_only=True, allow_null=True)
    conversation = serializers.IntegerField(
        source="conversation_id", read_only=True, allow_null=True
    )
    message = serializers.IntegerField(source="message_id", read_only=True, allow_null=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "actor",
            "conversation",
            "message",
            "sequence",
            "text",
            "detail",
            "url",
            "created_at",
            "read_at",
            "read",
        ]
        read_only_fields = fields

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class UnreadSerializer(serializers.Serializer):
    """How many notifications are unread."""

    unread = serializers.IntegerField()


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "example": "22:00"})
class ClockField(serializers.TimeField):
    """A time of day on the clock, "HH:MM" (no date, no zone: it is in ``time_zone``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class PreferencesSerializer(serializers.ModelSerializer):
    """When and how one is notified; do-not-disturb hours are in ``time_zone``."""

    dnd_start = ClockField(allow_null=True, required=False, help_text="Do not disturb from.")
    dnd_end = ClockField(allow_null=True, required=False, help_text="Until (may be < start).")

    time_zone = serializers.ChoiceField(
        choices=sorted(zoneinfo.available_timezones()), default="UTC"
    )
    email_delay_minutes = serializers.IntegerField(
        min_value=1,
        max_value=1440,
        allow_null=True,
        required=False,
        help_text="Minutes after a message before its email; null: the server's default.",
    )

    class Meta:
        model = Preferences
        # The same fields as the settings page's form.
        fields = PreferencesForm.Meta.fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = {**self._current_values(), **attrs}
        if (merged.get("dnd_start") is None) != (merged.get("dnd_end") is None):
            raise serializers.ValidationError(
                "Give both ends of the do-not-disturb hours, or neither."
            )
        return merged

    def _current_values(self) -> dict[str, Any]:
        """Return the current values, which a partial update (PATCH) keeps."""
        current = self.instance
        if current is None:
            return {}
        return {name: getattr(current, name) for name in self.Meta.fields}
