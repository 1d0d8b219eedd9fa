from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "founderops.cli"
    label = "cli"
