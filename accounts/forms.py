"""Forms of the profile and access-token pages."""

from django import forms

from accounts.models import AccessToken


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False, label="Display name")
    status_text = forms.CharField(max_length=140, required=False, label="Status")
    avatar = forms.FileField(required=False, label="New avatar (JPEG, PNG, GIF or WebP)")
    remove_avatar = forms.BooleanField(required=False, label="Remove my avatar")


class AccessTokenForm(forms.Form):
    """A new personal access token: a name, its scopes and how long it lasts."""

    EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]

    name = forms.CharField(max_length=100, label="Name", help_text="What the token is for.")
    scopes = forms.MultipleChoiceField(
        choices=AccessToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[AccessToken.Scope.READ],
        label="Scopes",
        help_text="Read: GET requests and receiving on sockets. Write: everything else.",
    )
    expires_in_days = forms.ChoiceField(
        choices=EXPIRY_CHOICES, required=False, initial="90", label="Expires after"
    )
