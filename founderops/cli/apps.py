from django.apps import AppConfig
from django.conf import settings


class CliConfig(AppConfig):
    name = "founderops.cli"
    label = "cli"

    def ready(self) -> None:
        # The running demo's processes (FOUNDEROPS_DEMO_STRIPE, set by `founderops demo` only)
        # answer Stripe's calls from the demo's data; every other run is left as it is.
        if settings.DEMO_STRIPE:
            from founderops.cli import demo_live_stripe

            demo_live_stripe.install()
