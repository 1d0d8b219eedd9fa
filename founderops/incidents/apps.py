from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "founderops.incidents"
    label = "incidents"
