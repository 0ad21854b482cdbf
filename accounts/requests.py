"""Request types for views behind ``login_required``."""

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A request whose user is logged in: lets type checkers see ``request.user: User``."""

    user: User
