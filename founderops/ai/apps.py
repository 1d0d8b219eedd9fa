from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "founderops.ai"
    label = "ai"
