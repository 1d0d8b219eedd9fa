from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "founderops.web"
    label = "web"
