from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "founderops.support"
    label = "support"

    def ready(self) -> None:
        # The Support Agent's autonomy settings, listed on the cockpit's agents page.
        from django.conf import settings

        from founderops.ai import policy
        from founderops.support.services import AGENT, REPLY

        policy.register_agent(
            AGENT,
            "Support Agent",
            "Answers tickets from the knowledge base and escalates the rest with a draft.",
            retrain_job="founderops.support.tasks.refresh_classifier",
            default_precision=lambda: settings.SUPPORT_TARGET_PRECISION,
        )
        policy.register(
            AGENT,
            REPLY,
            "Answer a customer from a knowledge-base article when the classifier is confident",
            limits=(),
            default_mode=policy.Mode.AUTO,
            noun="replies",
        )
