from django.apps import AppConfig


class MessengerConfig(AppConfig):
    name = "messenger"
    verbose_name = "Messenger platform"
