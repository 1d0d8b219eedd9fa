from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "founderops.monitoring"
    label = "monitoring"
