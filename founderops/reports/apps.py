from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "founderops.reports"
    label = "reports"
