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
        register_account_actions()


def register_account_actions() -> None:
    """Refunds, credits, invoice copies and cancellations the agent does through revenue.

    Money leaves only with the founder's approval until they write a policy (for example
    "refunds: auto, up to 50 USD, within 14 days"); an invoice copy only sends customers
    their own document, so it is automatic.
    """
    from founderops.ai import policy
    from founderops.support.account_wording import CANCEL, CREDIT, INVOICE_COPY, REFUND
    from founderops.support.services import AGENT

    policy.register(
        AGENT,
        REFUND,
        "Refund a customer's charge in Stripe, in full or in part",
        limits=("max_amount", "max_age_days"),
        noun="refunds",
    )
    policy.register(
        AGENT,
        CREDIT,
        "Add a credit to a customer's Stripe balance, used by their next invoices",
        limits=("max_amount",),
        noun="account credits",
    )
    policy.register(
        AGENT,
        INVOICE_COPY,
        "Send customers the link to their own latest invoice",
        limits=(),
        default_mode=policy.Mode.AUTO,
        noun="invoice copies",
    )
    policy.register(
        AGENT,
        CANCEL,
        "Cancel a customer's subscription at the end of the period they paid for",
        limits=(),
        noun="cancellations",
    )
