"""Profile pages."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import user_get_active


@login_required
def profile(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    """Show a person's profile."""
    person = user_get_active(username=username)
    if person is None:
        raise Http404("No such person")
    return render(request, "accounts/profile.html", {"person": person})
