"""The public status page, its feeds and e-mail subscriptions; and the cockpit's SLO view.

The page and the feeds are the same for every visitor, hold no form and no CSRF token, and
read no session, so a proxy may keep them for a minute (`Cache-Control: public`) and an
outage's rush of visitors costs a few queries a minute. The subscribe, confirm and
unsubscribe pages belong to one person each: private, never cached, never indexed, and a
GET changes nothing (mail scanners open links); the change is a POST with CSRF, except
the RFC 8058 one-click unsubscribe that mail clients POST without a page, where the signed
link is the credential.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from founderops.core import clock, ratelimit
from founderops.core.errors import InvalidInput
from founderops.incidents import slo, statuspage, subscribers
from founderops.incidents.models import Incident, StatusUpdate
from founderops.monitoring.models import MaintenanceWindow
from founderops.reports.briefing import configured_zone
from founderops.web.access import staff_required
from founderops.web.account_views import client_ip

PUBLIC_CACHE_SECONDS = 60
FEED_ITEMS = 50
MAINTENANCE_SHOWN = 10
# Subscription requests: per visitor address, and per e-mail address (a mailbox that is
# not the visitor's must not be flooded with confirmation mails).
SUBSCRIBE_PER_HOUR_PER_IP = 5
SUBSCRIBE_PER_DAY_PER_ADDRESS = 3
HOUR, DAY = 3600, 86400


def _public(view: Any) -> Any:
    return login_not_required(
        cache_control(public=True, max_age=PUBLIC_CACHE_SECONDS)(require_GET(view))
    )


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


def announced_maintenance(now: datetime) -> list[MaintenanceWindow]:
    """Planned work the founder chose to announce that has not ended yet, soonest first."""
    windows = MaintenanceWindow.objects.filter(announce=True, ends_at__gt=now)
    return list(windows.prefetch_related("components").order_by("starts_at")[:MAINTENANCE_SHOWN])


# The page.


def status_page(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    components = statuspage.public_components()
    tone, words = statuspage.banner(components)
    context = {
        "title": settings.STATUS_TITLE,
        "tone": tone,
        "banner": words,
        "rows": statuspage.rows(components, now, configured_zone()),
        "days": statuspage.HISTORY_DAYS,
        "active": statuspage.active_incidents(),
        "maintenance": announced_maintenance(now),
        "past": statuspage.past_incidents(now),
        "past_days": statuspage.PAST_INCIDENT_DAYS,
        "now": now,
    }
    return render(request, "web/status/page.html", context)


def incident_page(request: HttpRequest, pk: int) -> HttpResponse:
    incident = statuspage.public_incidents().filter(pk=pk).first()
    if incident is None:
        raise Http404("no such incident on the status page")
    context = {"title": settings.STATUS_TITLE, "incident": incident}
    return render(request, "web/status/incident.html", context)


status = _public(status_page)
incident = _public(incident_page)


# Feeds: published updates only, newest first.


class UpdatesFeed(Feed):  # type: ignore[type-arg]
    feed_type: type[SyndicationFeed] = Rss201rev2Feed

    def title(self) -> str:
        return f"{settings.STATUS_TITLE}: incident updates"

    def link(self) -> str:
        return reverse("status")

    def description(self) -> str:
        return f"Every update published on {settings.STATUS_TITLE}."

    def items(self) -> list[StatusUpdate]:
        updates = statuspage.published_updates().filter(incident__public=True)
        return list(updates.select_related("incident")[:FEED_ITEMS])

    def item_title(self, item: StatusUpdate) -> str:
        return f"[{Incident.State(item.status).label}] {item.incident.public_title}"

    def item_description(self, item: StatusUpdate) -> str:
        # The feeds declare their text HTML (Atom's type="html", RSS by custom): the body is
        # plain text, so it is escaped and a "<script>" in it reaches readers as text.
        return escape(item.body)

    def item_link(self, item: StatusUpdate) -> str:
        return reverse("status_incident", args=[item.incident_id]) + f"#update-{item.pk}"

    def item_guid(self, item: StatusUpdate) -> str:
        return f"status-update-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: StatusUpdate) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: StatusUpdate) -> datetime | None:
        return item.published_at


class AtomUpdatesFeed(UpdatesFeed):
    feed_type = Atom1Feed

    def subtitle(self) -> str:
        return self.description()


rss = _public(UpdatesFeed())
atom = _public(AtomUpdatesFeed())


# Subscribing by e-mail.


class SubscribeForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address", max_length=254)
    # A field people never see (hidden by CSS, labelled to be left empty): bots fill it.
    website = forms.CharField(required=False, label="Leave this empty")


def _limited(request: HttpRequest, address: str) -> bool:
    by_ip = ratelimit.hit(
        ratelimit.key_for("status-subscribe-ip", client_ip(request)),
        SUBSCRIBE_PER_HOUR_PER_IP,
        HOUR,
    )
    if not by_ip.allowed:
        return True
    by_address = ratelimit.hit(
        ratelimit.key_for("status-subscribe-address", address), SUBSCRIBE_PER_DAY_PER_ADDRESS, DAY
    )
    return not by_address.allowed


@login_not_required
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST if request.method == "POST" else None)
    code = 200
    if form.is_bound and form.is_valid():
        if form.cleaned_data["website"]:
            # A bot: answered like a person, so it learns nothing; nothing stored or sent.
            return redirect("status_subscribe_sent")
        address = form.cleaned_data["email"]
        if _limited(request, address):
            form.add_error(None, "Too many requests from here; try again in an hour.")
            code = 429
        else:
            try:
                subscribers.subscribe(address)
            except InvalidInput as error:
                form.add_error("email", str(error))
            else:
                return redirect("status_subscribe_sent")
    if form.errors and code == 200:
        code = 400
    context = {"title": settings.STATUS_TITLE, "form": form}
    return _private(render(request, "web/status/subscribe.html", context, status=code))


@login_not_required
@require_GET
def subscribe_sent(request: HttpRequest) -> HttpResponse:
    context = {"title": settings.STATUS_TITLE}
    return _private(render(request, "web/status/subscribe_sent.html", context))


def _invalid(request: HttpRequest, reason: str) -> HttpResponse:
    context = {"title": settings.STATUS_TITLE, "reason": reason}
    return _private(render(request, "web/status/link_invalid.html", context, status=400))


@login_not_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscribers.by_token(token)
        if request.method == "POST":
            subscriber = subscribers.confirm(token)
    except InvalidInput as error:
        return _invalid(request, str(error))
    context = {
        "title": settings.STATUS_TITLE,
        "subscriber": subscriber,
        "done": subscriber.confirmed_at is not None,
    }
    return _private(render(request, "web/status/confirm.html", context))


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without a page; the link is signed.
@login_not_required
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscribers.by_unsubscribe_token(token)
        if request.method == "POST":
            subscriber = subscribers.unsubscribe(token)
    except InvalidInput as error:
        return _invalid(request, str(error))
    context = {
        "title": settings.STATUS_TITLE,
        "token": token,
        "done": subscriber.unsubscribed_at is not None,
    }
    return _private(render(request, "web/status/unsubscribe.html", context))


# The cockpit's SLO view.


@staff_required
def slo_view(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    context = {
        "target_text": statuspage.percent(slo.TARGET),
        "warn_text": f"{slo.WARN_REMAINING:.0%}",
        "budget_days": slo.BUDGET_DAYS,
        "budgets": slo.budgets(slo.tracked_components(), now),
        "counts": priority_counts(now),
        "count_days": slo.COUNT_DAYS,
        "responses": slo.responses(now),
        "response_days": slo.RESPONSE_DAYS,
        "since": now - timedelta(days=slo.BUDGET_DAYS),
    }
    return render(request, "web/slo.html", context)


def priority_counts(now: datetime) -> list[tuple[str, list[int]]]:
    """Rows of (priority, [incidents in each of slo.COUNT_DAYS])."""
    per_window = [slo.counts_by_priority(now, days) for days in slo.COUNT_DAYS]
    return [(p, [counts[p] for counts in per_window]) for p in slo.PRIORITIES]
