"""Forms of the notifications pages."""

import zoneinfo

from django import forms

from notifications.models import Preferences


class PreferencesForm(forms.ModelForm):
    """A person's notification preferences."""

    time_zone = forms.ChoiceField(
        choices=[(name, name) for name in sorted(zoneinfo.available_timezones())],
        help_text="Do-not-disturb hours are in this time zone.",
    )

    class Meta:
        model = Preferences
        fields = [
            "email_enabled",
            "email_delay_minutes",
            "push_enabled",
            "dnd_start",
            "dnd_end",
            "time_zone",
        ]
        widgets = {
            "dnd_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "dnd_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {
            "email_delay_minutes": "Empty: the server's default.",
        }

    def clean(self) -> dict[str, object]:
        """Require both ends of the do-not-disturb hours, or neither."""
        data = super().clean() or {}
        if (data.get("dnd_start") is None) != (data.get("dnd_end") is None):
            raise forms.ValidationError("Give both ends of the do-not-disturb hours, or neither.")
        return data
