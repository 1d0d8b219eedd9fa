from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "founderops.incidents"
    label = "incidents"

    def ready(self) -> None:
        # The Monitoring Agent's autonomy settings, listed on the cockpit's agents page.
        # Registered here (not in monitoring) because incidents carries the actions out.
        from founderops.ai import policy
        from founderops.incidents import services

        policy.register_agent(
            services.AGENT,
            "Monitoring Agent",
            "Diagnoses incidents, runs the runbooks of known issues, pages the founder with "
            "a plan and drafts status updates and the post-mortem.",
        )
        policy.register(
            services.AGENT,
            services.RUNBOOK_HTTP,
            "Run a runbook's HTTP step (roll back a deploy, purge a cache…)",
            limits=(),
            default_mode=policy.Mode.APPROVAL,
            noun="runbook HTTP calls",
        )
        policy.register(
            services.AGENT,
            services.RUNBOOK_SHELL,
            "Run a runbook's shell command on this host",
            limits=(),
            default_mode=policy.Mode.APPROVAL,
            noun="runbook shell commands",
        )
        policy.register(
            services.AGENT,
            services.STATUS_UPDATE,
            "Post a status update to the public status page (else it waits as a draft)",
            limits=(),
            default_mode=policy.Mode.APPROVAL,
            noun="status updates",
        )
