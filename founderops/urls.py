from django.contrib import admin
from django.urls import include, path

from founderops.api.api import api
from founderops.channels import inbound_views, widget_views
from founderops.channels import views as channel_views
from founderops.monitoring import views as monitoring_views
from founderops.revenue import views as revenue_views
from founderops.web import status_views

admin.site.site_header = "FounderOps admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("widget/v1/session", widget_views.session, name="widget_session"),
    path("widget/v1/ask", widget_views.ask, name="widget_ask"),
    path("widget/v1/rate", widget_views.rate, name="widget_rate"),
    path("widget/demo/", widget_views.demo, name="widget_demo"),
    path("rate/<str:token>/thanks/", channel_views.rate_thanks, name="csat_thanks"),
    path("rate/<str:token>/<str:score>/", channel_views.rate, name="csat_rate"),
    # The public status page (web.status_views): cacheable page and feeds, subscriptions.
    path("status/", status_views.status, name="status"),
    path("status/incidents/<int:pk>/", status_views.incident, name="status_incident"),
    path("status/feed.rss", status_views.rss, name="status_rss"),
    path("status/feed.atom", status_views.atom, name="status_atom"),
    path("status/subscribe/", status_views.subscribe, name="status_subscribe"),
    path("status/subscribe/sent/", status_views.subscribe_sent, name="status_subscribe_sent"),
    path("status/confirm/<str:token>/", status_views.confirm, name="status_confirm"),
    path("status/unsubscribe/<str:token>/", status_views.unsubscribe, name="status_unsubscribe"),
    path("inbound/postmark/", inbound_views.postmark, name="inbound_postmark"),
    path("inbound/mailgun/", inbound_views.mailgun, name="inbound_mailgun"),
    path("inbound/sendgrid/", inbound_views.sendgrid, name="inbound_sendgrid"),
    # Heartbeats and deploy webhooks (monitoring.views): a secret token or a signature each.
    # The same without (or with) the last slash: a job's curl does not follow the redirect
    # APPEND_SLASH would answer, so its ping would be lost without an error. Listed
    # first: for reverse() the last of a name wins, and the URLs shown keep their slash.
    path("ping/<str:token>", monitoring_views.ping, name="monitor_ping"),
    path(
        "ping/<str:token>/start/",
        monitoring_views.ping,
        {"kind": "start"},
        name="monitor_ping_start",
    ),
    path(
        "ping/<str:token>/fail/", monitoring_views.ping, {"kind": "fail"}, name="monitor_ping_fail"
    ),
    path("ping/<str:token>/", monitoring_views.ping, name="monitor_ping"),
    path(
        "ping/<str:token>/start",
        monitoring_views.ping,
        {"kind": "start"},
        name="monitor_ping_start",
    ),
    path(
        "ping/<str:token>/fail", monitoring_views.ping, {"kind": "fail"}, name="monitor_ping_fail"
    ),
    path("hooks/deploy/<slug:name>/", monitoring_views.deploy_hook, name="deploy_hook"),
    # Stripe's webhook (revenue.views): the Stripe-Signature header is the credential.
    path("hooks/stripe/", revenue_views.stripe_webhook, name="stripe_webhook"),
    path("", include("founderops.web.urls")),
]
