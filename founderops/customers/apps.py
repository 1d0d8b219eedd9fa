from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "founderops.customers"
    label = "customers"
