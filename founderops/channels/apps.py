from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "founderops.channels"
    label = "channels"
