from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "founderops.core"
    label = "core"
