from django.contrib import admin
from django.urls import include, path

from founderops.api.api import api
from founderops.channels import inbound_views, widget_views
from founderops.channels import views as channel_views

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
    path("inbound/postmark/", inbound_views.postmark, name="inbound_postmark"),
    path("inbound/mailgun/", inbound_views.mailgun, name="inbound_mailgun"),
    path("inbound/sendgrid/", inbound_views.sendgrid, name="inbound_sendgrid"),
    path("", include("founderops.web.urls")),
]
