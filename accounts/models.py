"""The user model: Django's user plus the profile fields people see."""

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone


class User(AbstractUser):
    """A person with an account; ``display_name`` is what others see."""

    display_name = models.CharField(max_length=80, blank=True)
    status_text = models.CharField("status", max_length=140, blank=True)
    # A square thumbnail re-encoded by accounts.services.avatar_set; never
    # the uploaded file itself.
    avatar = models.ImageField(upload_to="avatars/", blank=True)
    # When the last socket went away (from the activity topic).
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Case-insensitive prefix search: Django's ``istartswith`` is
        # ``UPPER(col::text) LIKE UPPER('abc%')``, which these indexes serve.
        indexes = [
            models.Index(
                OpClass(Upper("username"), name="text_pattern_ops"), name="user_username_prefix"
            ),
            models.Index(
                OpClass(Upper("display_name"), name="text_pattern_ops"),
                name="user_display_name_prefix",
            ),
        ]

    @property
    def name(self) -> str:
        """Return the name to show: the display name, else the username."""
        return self.display_name or self.username

    @property
    def initials(self) -> str:
        """Return up to two initials for the generated default avatar."""
        words = self.name.split()
        letters = "".join(word[0] for word in words[:2]) if words else self.username[:1]
        return letters.upper()

    @property
    def avatar_url(self) -> str | None:
        """Return the URL of the avatar thumbnail, or None for the initials avatar."""
        if not self.avatar:
            return None
        # The file name is in the query, so a new avatar gets a new URL.
        version = self.avatar.name.rsplit("/", 1)[-1]
        return f"{reverse('accounts:avatar', args=[self.username])}?v={version}"

    def __str__(self) -> str:
        return self.username


class AccessToken(models.Model):
    """A personal access token: lets an API client act as its owner.

    Only a SHA-256 hash of the secret is stored; the plaintext is shown once,
    when the token is created.  ``prefix`` (the start of the plaintext) lets
    people tell their tokens apart without the secret.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    scopes = ArrayField(models.CharField(max_length=10, choices=Scope.choices))
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="accesstoken_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, scope: str) -> bool:
        """Return whether the token carries this scope ("read" or "write")."""
        return scope in self.scopes

    @property
    def status(self) -> str:
        """Return "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"
