from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "founderops.support"
    label = "support"
