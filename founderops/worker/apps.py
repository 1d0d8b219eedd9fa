from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "founderops.worker"
    label = "worker"
