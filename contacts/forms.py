"""Forms of the contacts pages."""

from django import forms


class ContactRequestForm(forms.Form):
    username = forms.CharField(max_length=150)
    message = forms.CharField(max_length=200, required=False)


class UserSearchForm(forms.Form):
    q = forms.CharField(max_length=150, required=False, label="Find people")
    page = forms.IntegerField(min_value=1, required=False)
