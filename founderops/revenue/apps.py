from django.apps import AppConfig


class RevenueConfig(AppConfig):
    name = "founderops.revenue"
    label = "revenue"
