from django.apps import AppConfig
from django.core import checks


class WorkerConfig(AppConfig):
    name = "founderops.worker"
    label = "worker"

    def ready(self) -> None:
        from founderops.worker.checks import broker_keeps_receipts

        checks.register(broker_keeps_receipts)
