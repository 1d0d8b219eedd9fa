from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "founderops.accounts"
    label = "accounts"
