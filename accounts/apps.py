from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        """Connect the login and logout signals."""
        from accounts import signals  # noqa: F401
