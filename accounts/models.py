"""The user model: Django's user plus the profile fields people see."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person with an account; ``display_name`` is what others see."""

    display_name = models.CharField(max_length=80, blank=True)

    @property
    def name(self) -> str:
        """Return the name to show: the display name, else the username."""
        return self.display_name or self.username

    def __str__(self) -> str:
        return self.username
