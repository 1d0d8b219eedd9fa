"""The Django admin is for owners, and it signs in through the product's own login page.

The admin's own login form would skip two-factor login and the sign-in rate limits, so
`/admin/login/` sends visitors to `/login/` instead. Roles are read-only here: team members
are managed on the cockpit's Team page (or `founderops users`), which keeps the last owner
and audits every change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from founderops.accounts import roles
from founderops.accounts.models import Membership
from founderops.core.admin import ReadOnlyAdmin


def owners_only(request: HttpRequest) -> bool:
    return roles.role_of(request.user) == roles.Role.OWNER


@login_not_required
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    if request.user.is_authenticated:
        # Signed in but not an owner: sending them to the login page would loop.
        raise PermissionDenied("the admin is for owners")
    target = request.GET.get("next") or reverse("admin:index")
    return redirect_to_login(target, settings.LOGIN_URL)


admin.site.has_permission = owners_only  # type: ignore[method-assign]
admin.site.login = admin_login  # type: ignore[method-assign]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
