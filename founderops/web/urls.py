from django.contrib.auth import views as auth_views
from django.urls import path

from founderops.accounts.middleware import two_factor_exempt
from founderops.web import (
    account_views,
    agent_views,
    channels_views,
    customer_views,
    home_views,
    incident_views,
    knowledge_views,
    macro_views,
    monitor_views,
    notifications_views,
    revenue_views,
    status_views,
    views,
)

app_name = "web"
urlpatterns = [
    # Accounts and access (account_views): sign-in in two steps, 2FA, the Team page.
    path("login/", account_views.login, name="login"),
    path("login/code/", account_views.login_code, name="login_code"),
    path("logout/", two_factor_exempt(auth_views.LogoutView.as_view()), name="logout"),
    path(
        "account/set-password/<uidb64>/<token>/",
        account_views.SetPasswordView.as_view(),
        name="set_password",
    ),
    path("account/security/", account_views.security, name="security"),
    path("account/security/codes/", account_views.security_codes, name="security_codes"),
    path("account/security/off/", account_views.security_disable, name="security_disable"),
    path("team/", account_views.team, name="team"),
    path("team/add/", account_views.team_add, name="team_add"),
    path("team/<int:pk>/role/", account_views.team_role, name="team_role"),
    path("team/<int:pk>/deactivate/", account_views.team_deactivate, name="team_deactivate"),
    path("team/<int:pk>/reactivate/", account_views.team_reactivate, name="team_reactivate"),
    path("team/<int:pk>/reset-2fa/", account_views.team_reset_2fa, name="team_reset_2fa"),
    path("team/<int:pk>/link/", account_views.team_link, name="team_link"),
    path("team/tokens/new/", account_views.token_create, name="token_create"),
    path("team/tokens/<int:pk>/revoke/", account_views.token_revoke, name="token_revoke"),
    # The cockpit (home, inbox, customers, knowledge editor, saved replies, agent settings).
    path("", home_views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/approve/", views.approve, name="approve"),
    path("tickets/<int:pk>/reject/", views.reject, name="reject"),
    path("tickets/<int:pk>/relabel/", views.relabel, name="relabel"),
    path("tickets/<int:pk>/saved-reply/", macro_views.macro_use, name="macro_use"),
    path("customers/", customer_views.customer_list, name="customers"),
    path("customers/<int:pk>/", customer_views.customer_detail, name="customer"),
    path("knowledge/", views.knowledge_list, name="knowledge"),
    path("knowledge/new/", knowledge_views.article_new, name="article_new"),
    path("knowledge/preview/", knowledge_views.article_preview, name="article_preview"),
    path("knowledge/<int:pk>/", knowledge_views.article_detail, name="article"),
    path("knowledge/<int:pk>/edit/", knowledge_views.article_edit, name="article_edit"),
    path("knowledge/<int:pk>/publish/", knowledge_views.article_publish, name="article_publish"),
    path("saved-replies/", macro_views.macro_list, name="macros"),
    path("saved-replies/new/", macro_views.macro_new, name="macro_new"),
    path("saved-replies/<int:pk>/", macro_views.macro_edit, name="macro_edit"),
    path("saved-replies/<int:pk>/delete/", macro_views.macro_delete, name="macro_delete"),
    path("agents/", agent_views.agent_settings, name="agents"),
    path("agents/<str:agent>/switch/", agent_views.agent_switch, name="agent_switch"),
    path("agents/<str:agent>/precision/", agent_views.agent_precision, name="agent_precision"),
    path(
        "agents/<str:agent>/actions/<str:action>/",
        agent_views.agent_policy,
        name="agent_policy",
    ),
    path("slo/", status_views.slo_view, name="slo"),
    # Incidents (incident_views): the list, one incident and what the founder does with it.
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("incidents/<int:pk>/", incident_views.incident_detail, name="incident"),
    path(
        "incidents/<int:pk>/acknowledge/",
        incident_views.incident_acknowledge,
        name="incident_acknowledge",
    ),
    path("incidents/<int:pk>/state/", incident_views.incident_state, name="incident_state"),
    path(
        "incidents/<int:pk>/priority/", incident_views.incident_priority, name="incident_priority"
    ),
    path("incidents/<int:pk>/note/", incident_views.incident_note, name="incident_note"),
    path("incidents/<int:pk>/merge/", incident_views.incident_merge, name="incident_merge"),
    path(
        "incidents/<int:pk>/postmortem/",
        incident_views.incident_postmortem,
        name="incident_postmortem",
    ),
    path("incidents/<int:pk>/updates/new/", incident_views.update_new, name="incident_update_new"),
    path("incidents/updates/<int:pk>/", incident_views.update_action, name="incident_update"),
    path("incidents/runs/<int:pk>/decide/", incident_views.runbook_decide, name="runbook_decide"),
    # Monitors (monitor_views): the list, one monitor, the form, maintenance, export.
    path("monitors/", monitor_views.monitor_list, name="monitors"),
    path("monitors/new/", monitor_views.monitor_new, name="monitor_new"),
    path("monitors/maintenance/", monitor_views.maintenance, name="maintenance"),
    path(
        "monitors/maintenance/<int:pk>/end/",
        monitor_views.maintenance_end,
        name="maintenance_end",
    ),
    path("monitors/export.yaml", monitor_views.monitors_export, name="monitors_export"),
    path("monitors/<slug:name>/", monitor_views.monitor_detail, name="monitor"),
    path("monitors/<slug:name>/edit/", monitor_views.monitor_edit, name="monitor_edit"),
    path("monitors/<slug:name>/pause/", monitor_views.monitor_pause, name="monitor_pause"),
    path("monitors/<slug:name>/resume/", monitor_views.monitor_resume, name="monitor_resume"),
    path("monitors/<slug:name>/check/", monitor_views.monitor_check, name="monitor_check"),
    path(
        "monitors/<slug:name>/ping-url/",
        monitor_views.monitor_ping_token,
        name="monitor_ping_token",
    ),
    # Revenue (revenue_views): MRR and movements, a movement's customers, cohorts, forecast, risk.
    path("revenue/", revenue_views.overview, name="revenue"),
    path(
        "revenue/movements/<str:month>/<str:kind>/",
        revenue_views.movements,
        name="revenue_movements",
    ),
    path("revenue/cohorts/", revenue_views.cohorts_page, name="revenue_cohorts"),
    path("revenue/forecast/", revenue_views.forecast_page, name="revenue_forecast"),
    path("revenue/risk/", revenue_views.risk_page, name="revenue_risk"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/export.jsonl", views.audit_export, name="audit_export"),
    path("notifications/", notifications_views.notifications_page, name="notifications"),
    path(
        "notifications/routes/new/",
        notifications_views.route_add,
        name="notification_route_add",
    ),
    path(
        "notifications/routes/<int:pk>/",
        notifications_views.route_edit,
        name="notification_route_edit",
    ),
    path(
        "notifications/routes/<int:pk>/delete/",
        notifications_views.route_delete,
        name="notification_route_delete",
    ),
    path(
        "notifications/routes/<int:pk>/test/",
        notifications_views.route_test,
        name="notification_route_test",
    ),
    path(
        "notifications/deliveries/<int:pk>/retry/",
        notifications_views.delivery_retry,
        name="notification_retry",
    ),
    # Channels (channels_views): mailboxes, inbound webhooks, the widget card, received mail.
    path("channels/", channels_views.channels, name="channels"),
    path("channels/mailboxes/new/", channels_views.mailbox_add, name="mailbox_add"),
    path("channels/mailboxes/<int:pk>/", channels_views.mailbox_edit, name="mailbox"),
    path("channels/mailboxes/<int:pk>/test/", channels_views.mailbox_test, name="mailbox_test"),
    path("channels/mailboxes/<int:pk>/poll/", channels_views.mailbox_poll, name="mailbox_poll"),
    path(
        "channels/mailboxes/<int:pk>/remove/", channels_views.mailbox_remove, name="mailbox_remove"
    ),
    path("channels/attachments/<int:pk>/", channels_views.attachment_download, name="attachment"),
]
