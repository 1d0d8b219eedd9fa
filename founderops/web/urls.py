from django.contrib.auth import views as auth_views
from django.urls import path

from founderops.web import views

app_name = "web"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.inbox, name="inbox"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/approve/", views.approve, name="approve"),
    path("tickets/<int:pk>/reject/", views.reject, name="reject"),
    path("tickets/<int:pk>/relabel/", views.relabel, name="relabel"),
    path("knowledge/", views.knowledge_list, name="knowledge"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/export.jsonl", views.audit_export, name="audit_export"),
]
