"""Audit events in words, for the founder: "Reminder sent for incident #4", not
`incidents.reminded on incident:4`.

One place for every page that lists audit events (home, agents, a customer's timeline):
`describe(event)` gives what happened (`what`), what it was about (`about`, with its
preposition) and the outcome when the words do not already say it (`note`). An action nobody
wrote words for still reads as words ("Mail processed"), never as its dotted id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from founderops.core.money import Money, is_currency


class Event(Protocol):
    """What `describe` reads: an AuditEvent, or any row with these fields."""

    action: str
    outcome: str
    subject_type: str
    subject_id: str


@dataclass(frozen=True)
class Described:
    # "Reminder sent"
    what: str
    # "for incident #4"; "" when the event is about nothing in particular.
    about: str = ""
    # The outcome, when `what` does not already say it ("" otherwise).
    note: str = ""

    def __str__(self) -> str:
        return f"{self.what} {self.about}".strip()


# Words per action; "{outcome}" in them is the event's outcome (then not repeated as a note).
WORDS: dict[str, str] = {
    # Support.
    "support.ticket_received": "Ticket received",
    "support.message_received": "Message received",
    "support.auto_reply": "Answered automatically",
    "support.escalate": "Escalated to you",
    "support.account_action_considered": "Account action considered: {outcome}",
    "support.reply_rated": "Reply rated {outcome}",
    "support.ticket_customer_changed": "Ticket moved to another customer",
    "support.ticket_labelled": "Intent {outcome}",
    "support.macro_used": "Saved reply used: {outcome}",
    "support.macro_saved": "Saved reply saved",
    "support.macro_deleted": "Saved reply deleted",
    "support.article_saved": "Article {outcome}",
    "support.classifier_trained": "Classifier trained",
    "support.knowledge_imported": "Knowledge base imported",
    # Agents and their policies.
    "agent.switched_on": "Agent switched on",
    "agent.switched_off": "Agent switched off",
    # Incidents.
    "incidents.opened": "Incident opened",
    "incidents.acknowledged": "Incident acknowledged",
    "incidents.state_changed": "State changed to {outcome}",
    "incidents.resolved": "Incident resolved",
    "incidents.reminded": "Reminder sent",
    "incidents.paged": "Founder paged",
    "incidents.muted": "Paging muted",
    "incidents.merged": "Incidents merged",
    "incidents.note_added": "Note added",
    "incidents.priority_raised": "Priority raised to {outcome}",
    "incidents.priority_set": "Priority set to {outcome}",
    "incidents.postmortem_edited": "Post-mortem edited",
    "incidents.runbook_started": "Runbook started",
    "incidents.runbook_step": "Runbook step run",
    "incidents.runbook_finished": "Runbook finished",
    "incidents.update_drafted": "Status update drafted",
    "incidents.update_edited": "Status update edited",
    "incidents.update_published": "Status update published",
    "incidents.update_discarded": "Status update discarded",
    "incidents.update_announced": "Status update e-mailed to subscribers",
    "incidents.subscriber_requested": "Subscription requested",
    "incidents.subscriber_confirmed": "Subscription confirmed",
    "incidents.subscriber_left": "Subscriber left",
    "incidents.confirmation_sent": "Confirmation e-mail sent",
    "incidents.confirmation_failed": "Confirmation e-mail failed",
    # Monitoring.
    "monitoring.diagnosed": "Incident diagnosed",
    "monitoring.assessed": "Incident assessed",
    "monitoring.monitor_paused": "Monitor paused",
    "monitoring.monitor_resumed": "Monitor resumed",
    "monitoring.monitor_saved": "Monitor saved",
    "monitoring.check_requested": "Check requested",
    "monitoring.deploy_recorded": "Deploy recorded",
    "monitoring.deploy_hook_created": "Deploy hook created",
    "monitoring.log_new_error": "New error in the logs",
    "monitoring.log_error_spike": "Error spike in the logs",
    "monitoring.metric_anomaly": "Metric anomaly",
    "monitoring.maintenance_planned": "Maintenance planned",
    "monitoring.maintenance_ended": "Maintenance ended",
    "monitoring.ping_token_replaced": "Ping token replaced",
    "monitoring.config_applied": "Monitoring configuration applied",
    # Revenue.
    "revenue.account_action_requested": "Account action requested",
    "revenue.account_action_succeeded": "Account action done",
    "revenue.account_action_failed": "Account action failed",
    "revenue.account_action_refused": "Account action refused",
    "revenue.account_action_not_stored": "Account action done, not stored yet",
    "revenue.dunning_started": "Dunning started",
    "revenue.dunning_ended": "Dunning ended: {outcome}",
    "revenue.dunning_email": "Payment reminder e-mail: {outcome}",
    "revenue.dunning_retry": "Payment retried: {outcome}",
    "revenue.alert": "Revenue alert",
    "revenue.csv_imported": "CSV imported",
    "revenue.fx_rates_imported": "Exchange rates imported",
    "revenue.spend_recorded": "Acquisition spend recorded",
    "revenue.stripe_backfilled": "Stripe history loaded",
    "revenue.stripe_event_failed": "Stripe event failed",
    "revenue.stripe_key_stored": "Stripe key stored",
    "revenue.stripe_webhook_secret_stored": "Stripe webhook secret stored",
    # Channels.
    "channels.email_sent": "E-mail sent",
    "channels.email_failed": "E-mail failed",
    "channels.email_test": "Test e-mail: {outcome}",
    "channels.mail_received": "Mail received",
    "channels.mail_processed": "Mail processed",
    "channels.mailbox_connected": "Mailbox connected",
    "channels.mailbox_changed": "Mailbox changed",
    "channels.mailbox_removed": "Mailbox removed",
    # People and access.
    "accounts.login": "Signed in",
    "accounts.login_failed": "Sign-in failed",
    "accounts.login_locked": "Sign-in locked",
    "accounts.member_added": "Member added",
    "accounts.member_deactivated": "Member deactivated",
    "accounts.member_reactivated": "Member reactivated",
    "accounts.password_set": "Password set",
    "accounts.recovery_codes_renewed": "Recovery codes renewed",
    "accounts.role_changed": "Role changed to {outcome}",
    "accounts.session_expired": "Session expired",
    "accounts.two_factor_enabled": "Two-factor sign-in enabled",
    "accounts.two_factor_disabled": "Two-factor sign-in disabled",
    "accounts.two_factor_reset": "Two-factor sign-in reset",
    "api.token_created": "API token created",
    "api.token_revoked": "API token revoked",
    "audit.exported": "Audit trail exported",
    "notifications.route_changed": "Notification route changed",
    "notifications.route_tested": "Notification route tested",
    "notifications.delivery_failed": "Notification not delivered",
    "notifications.delivery_retried": "Notification retried",
    "reports.briefing_sent": "Briefing sent",
    "demo.loaded": "Demo data loaded",
    "demo.reset": "Demo data reset",
    "demo.story_told": "Demo story played",
}

# Words for actions every agent records under its own name ("support.approval_decided").
SUFFIXES: dict[str, str] = {
    "approval_requested": "Approval requested",
    "approval_decided": "Approval {outcome}",
}

# How a subject is named, with its preposition: ("incident", "4") -> "for incident #4".
SUBJECTS: dict[str, tuple[str, str]] = {
    "ticket": ("on", "ticket #{id}"),
    "incident": ("for", "incident #{id}"),
    "customer": ("for", "customer #{id}"),
    "agent": ("for", "the {id} agent"),
    "monitor": ("for", "monitor #{id}"),
    "invoice": ("for", "invoice {id}"),
    "account_action": ("for", "account action #{id}"),
    "user": ("for", "user #{id}"),
    "apitoken": ("for", "API token #{id}"),
    "mailbox": ("for", "mailbox #{id}"),
    "article": ("for", "article #{id}"),
    "savedreply": ("for", "saved reply #{id}"),
    "subscriber": ("for", "subscriber #{id}"),
    "notification": ("for", "notification #{id}"),
}


def describe(event: Event, details: dict[str, Any] | None = None) -> Described:
    """The event in words. `details` (the event's, when loaded) adds what a policy or
    precision changed to; without them the words are shorter, never wrong."""
    words = what(event.action, event.outcome, details)
    uses_outcome = event.action in _SPECIAL or "{outcome}" in _words(event.action)
    note = "" if uses_outcome or not event.outcome else event.outcome
    return Described(words, about(event.subject_type, event.subject_id), note)


def what(action: str, outcome: str = "", details: dict[str, Any] | None = None) -> str:
    """What happened, without its subject: "Reminder sent", "Refund policy changed to auto"."""
    special = _SPECIAL.get(action)
    if special is not None:
        return special(outcome, details or {})
    words = _words(action)
    if "{outcome}" in words:
        return words.replace("{outcome}", outcome) if outcome else _drop_outcome(words)
    return words


def about(subject_type: str, subject_id: str) -> str:
    """ "for incident #4", "on ticket #12"; "" for an event about nothing in particular."""
    if not subject_type:
        return ""
    preposition, name = SUBJECTS.get(subject_type, ("for", f"{_spaced(subject_type)} {{id}}"))
    return f"{preposition} {name.replace('{id}', str(subject_id))}"


def actor(name: str) -> str:
    """Who acted: "agent:support" -> "Support Agent", "user:fiona" -> "fiona"."""
    kind, _, who = name.partition(":")
    if kind == "agent" and who:
        return f"{_spaced(who).title()} Agent"
    if kind == "user" and who:
        return who
    return name


def _policy_changed(outcome: str, details: dict[str, Any]) -> str:
    action = str(details.get("action") or "")
    subject = f"{_spaced(action).capitalize()} policy" if action else "Policy"
    limits = _limits(details.get("limits"))
    mode = outcome or str(details.get("mode") or "")
    if not mode:
        return f"{subject} changed"
    return f"{subject} changed to {mode}" + (f" ({limits})" if limits else "")


def _precision_changed(outcome: str, details: dict[str, Any]) -> str:
    value = details.get("after")
    if not isinstance(value, int | float):
        try:
            value = float(outcome)
        except ValueError:
            return "Target precision changed"
    return f"Target precision changed to {value:.1%}"


_SPECIAL = {
    "policy.changed": _policy_changed,
    "agent.target_precision_changed": _precision_changed,
}


def _limits(data: object) -> str:
    if not isinstance(data, dict):
        return ""
    parts = []
    amount, currency = data.get("max_amount"), str(data.get("currency") or "")
    if isinstance(amount, int) and is_currency(currency):
        parts.append(f"up to {Money(amount, currency.upper())}")
    age = data.get("max_age_days")
    if isinstance(age, int):
        parts.append(f"within {plural(age, 'day')}")
    return ", ".join(parts)


def plural(count: int, noun: str) -> str:
    """ "1 day", "15 days"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _words(action: str) -> str:
    if action in WORDS:
        return WORDS[action]
    # An action of a domain added later reads as words too: "billing.invoice_voided" ->
    # "Invoice voided".
    name = action.rpartition(".")[2] or action
    return SUFFIXES.get(name) or _spaced(name).capitalize()


def _drop_outcome(words: str) -> str:
    for placeholder in (": {outcome}", " to {outcome}", " {outcome}", "{outcome}"):
        words = words.replace(placeholder, "")
    return words


def _spaced(name: str) -> str:
    return name.replace("_", " ").strip()
