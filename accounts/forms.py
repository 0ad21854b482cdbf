"""Forms of the profile pages."""

from django import forms


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False, label="Display name")
    status_text = forms.CharField(max_length=140, required=False, label="Status")
    avatar = forms.FileField(required=False, label="New avatar (JPEG, PNG, GIF or WebP)")
    remove_avatar = forms.BooleanField(required=False, label="Remove my avatar")
