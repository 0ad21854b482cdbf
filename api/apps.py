from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API: the browser's features for programs, documented by OpenAPI."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "REST API"
