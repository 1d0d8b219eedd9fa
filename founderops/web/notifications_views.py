"""The cockpit's notifications page: routes (owners change them), and what was sent.

URLs are secrets: the route form takes one but never shows it back (a password field that
does not render its value), and pages show only the redacted target.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.core import notifications
from founderops.core.errors import InvalidInput
from founderops.core.models import NotificationDelivery, NotificationRoute
from founderops.web import access
from founderops.web.access import agent_required, owner_required, staff_required

EVENT_CHOICES = list(notifications.EVENTS.items())


class RouteForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you: “Phone (ntfy)”, “Team Slack”.")
    url = forms.CharField(
        label="Notification URL",
        required=False,
        max_length=notifications.MAX_URL_CHARS,
        strip=True,
        # A password field that never renders its value: the URL holds the service's token.
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
        ),
        help_text="An apprise URL: ntfy://topic, tgram://bot-token/chat-id, slack://…, "
        "discord://…, mailtos://…, json://host/path.",
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, label="Events"
    )
    quiet_start = forms.TimeField(
        required=False,
        label="Quiet hours from",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        required=False,
        label="Quiet hours until",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    urgent_breaks_quiet = forms.BooleanField(
        required=False, label="Urgent events (P0 incidents, urgent tickets) break quiet hours"
    )
    digest_minutes = forms.IntegerField(
        min_value=0,
        max_value=notifications.MAX_DIGEST_MINUTES,
        initial=0,
        label="Digest window (minutes)",
        help_text="0 sends each event at once; otherwise the events of that many minutes "
        "go out as one message.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["url"].required = creating
        if not creating:
            self.fields["url"].help_text = "Leave empty to keep the current URL."

    @classmethod
    def for_route(cls, route: NotificationRoute) -> RouteForm:
        initial = {
            "name": route.name,
            "events": route.events,
            "quiet_start": route.quiet_start,
            "quiet_end": route.quiet_end,
            "urgent_breaks_quiet": route.urgent_breaks_quiet,
            "digest_minutes": route.digest_minutes,
            "enabled": route.enabled,
        }
        return cls(initial=initial, creating=False)

    def route_settings(self) -> notifications.RouteSettings:
        data = self.cleaned_data
        return notifications.RouteSettings(
            name=data["name"],
            events=data["events"],
            url=data["url"] or "",
            quiet_start=data["quiet_start"],
            quiet_end=data["quiet_end"],
            urgent_breaks_quiet=data["urgent_breaks_quiet"],
            digest_minutes=data["digest_minutes"],
            enabled=data["enabled"],
        )


NEW_ROUTE_INITIAL = {"urgent_breaks_quiet": True, "enabled": True, "digest_minutes": 0}


@staff_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    context = {
        "routes": NotificationRoute.objects.order_by("name", "id"),
        "defaults": notifications.default_targets(),
        "default_name": notifications.DEFAULT_ROUTE,
        "recent": notifications.recent_notifications(),
        "events": notifications.EVENTS,
        "zone": notifications.founder_zone().key,
        "can_change": access.may(request, Role.OWNER),
        "can_retry": access.may(request, Role.AGENT),
        "max_attempts": notifications.MAX_ATTEMPTS,
    }
    return render(request, "web/notifications.html", context)


@owner_required
def route_add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = RouteForm(initial=NEW_ROUTE_INITIAL, creating=True)
        return _render_form(request, form, None)
    form = RouteForm(request.POST, creating=True)
    return _save(request, form, None)


@owner_required
def route_edit(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(NotificationRoute, pk=pk)
    if request.method != "POST":
        return _render_form(request, RouteForm.for_route(route), route)
    return _save(request, RouteForm(request.POST, creating=False), route)


def _save(request: HttpRequest, form: RouteForm, route: NotificationRoute | None) -> HttpResponse:
    if not form.is_valid():
        return _render_form(request, form, route, status=400)
    try:
        saved = notifications.save_route(form.route_settings(), access.founder(request), route)
    except InvalidInput as refused:
        form.add_error(None, str(refused))
        return _render_form(request, form, route, status=400)
    messages.success(request, f"Route “{saved.name}” saved.")
    return redirect("web:notifications")


def _render_form(
    request: HttpRequest, form: RouteForm, route: NotificationRoute | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "route": route, "zone": notifications.founder_zone().key}
    return render(request, "web/notification_route_form.html", context, status=status)


@owner_required
@require_POST
def route_delete(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(NotificationRoute, pk=pk)
    name = route.name
    notifications.delete_route(route, access.founder(request))
    messages.success(request, f"Route “{name}” deleted.")
    return redirect("web:notifications")


@owner_required
@require_POST
def route_test(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(NotificationRoute, pk=pk)
    outcome = notifications.send_test(route, access.founder(request))
    if outcome.ok:
        messages.success(request, f"Test message sent to “{route.name}” ({route.target}).")
    else:
        messages.error(request, f"The test to “{route.name}” failed: {outcome.error}")
    return redirect("web:notifications")


@agent_required
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(NotificationDelivery, pk=pk)
    if notifications.retry_delivery(delivery, access.founder(request)):
        messages.success(request, f"Retrying the delivery to {delivery.target} now.")
    else:
        messages.warning(request, "That delivery is not waiting for a retry (already sent?).")
    return redirect("web:notifications")
