from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        """Connect the login and logout signals; describe the token scheme to the schema."""
        from accounts import schema, signals  # noqa: F401
