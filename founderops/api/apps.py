from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "founderops.api"
    label = "api"
