"""Signing in (password, then the app's code), two-factor enrolment, and the Team page.

Sign-in is two steps when the account has a confirmed authenticator app: the password step
only remembers who passed it (for five minutes, in the anonymous session); the session
becomes signed in, with a new key, after the code. Both steps count failures against the
same per-account and per-address limits (accounts.signin).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from founderops.accounts import services, sessions, signin, two_factor
from founderops.accounts.middleware import two_factor_exempt
from founderops.accounts.roles import Role
from founderops.api import tokens
from founderops.api.models import ApiToken
from founderops.core.errors import FounderOpsError
from founderops.web import access
from founderops.web.access import owner_required, staff_required
from founderops.web.account_forms import AddMemberForm, CodeForm, RoleForm, TokenForm

# Secrets shown once (recovery codes, a new token, a set-password link) wait in the
# server-side session for the next page, never in a cookie or a URL.
SHOW_ONCE_KEY = "web.show_once"
WRONG_CODE = "That code is not right. Check the app's current code and try again."
THROTTLED = "Wait a few seconds, then enter the newest code from the app."
EXPIRED_NOTICE = {
    sessions.IDLE: "You were signed out after a while without activity. Sign in again.",
    sessions.TOO_OLD: "Your session reached its maximum age. Sign in again.",
}


def client_ip(request: HttpRequest) -> str:
    # The address the connection came from, never a forwarded-for header anyone can set
    # (behind a reverse proxy this is the proxy's address).
    return str(request.META.get("REMOTE_ADDR", ""))


def _next_url(request: HttpRequest, raw: str | None) -> str:
    if raw and url_has_allowed_host_and_scheme(
        raw, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return raw
    return str(settings.LOGIN_REDIRECT_URL)


def _me(request: HttpRequest, needed: str = Role.VIEWER) -> User:
    user = access.founder(request, needed)
    assert isinstance(user, User)
    return user


def _show_once(request: HttpRequest, kind: str, value: Any, label: str = "") -> None:
    request.session[SHOW_ONCE_KEY] = {"kind": kind, "value": value, "label": label}


def _take_shown(request: HttpRequest, kind: str) -> dict[str, Any] | None:
    shown = request.session.get(SHOW_ONCE_KEY)
    if isinstance(shown, dict) and shown.get("kind") == kind:
        del request.session[SHOW_ONCE_KEY]
        return shown
    return None


# Signing in.


@login_not_required
@sensitive_post_parameters("password")
@never_cache
def login(request: HttpRequest) -> HttpResponseBase:
    next_url = _next_url(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    notice = EXPIRED_NOTICE.get(str(request.session.pop(sessions.EXPIRED_KEY, "")), "")
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    errors: list[str] = []
    if request.method == "POST":
        attempt = signin.Attempt(request.POST.get("username", "")[:150], client_ip(request))
        locked = signin.locked_for(attempt)
        if locked is not None:
            errors.append(signin.lockout_message(locked))
        elif form.is_valid():
            return _password_passed(request, attempt, form.get_user(), next_url)
        else:
            locked = signin.fail(attempt, signin.PASSWORD_STEP)
            errors.append(signin.lockout_message(locked) if locked else _refusal(form))
    # 200 even for a refusal, as Django's own login view answers.
    context = {"form": form, "errors": errors, "next": next_url, "notice": notice}
    return render(request, "web/login.html", context)


def _refusal(form: AuthenticationForm) -> str:
    problems = form.non_field_errors()
    return str(problems[0]) if problems else "Enter your username and password."


def _password_passed(
    request: HttpRequest, attempt: signin.Attempt, user: User, next_url: str
) -> HttpResponse:
    if two_factor.is_enrolled(user):
        sessions.hold_pending(request, user, next_url)
        return redirect("web:login_code")
    sessions.sign_in(request, user)
    signin.succeed(attempt, user, "")
    return redirect(next_url)


@login_not_required
@never_cache
def login_code(request: HttpRequest) -> HttpResponseBase:
    held = sessions.pending(request)
    user = User.objects.filter(pk=held["user"], is_active=True).first() if held else None
    if held is None or user is None:
        sessions.drop_pending(request)
        messages.info(request, "Sign in with your password first.")
        return redirect("web:login")
    form = CodeForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST":
        attempt = signin.Attempt(user.get_username(), client_ip(request))
        locked = signin.locked_for(attempt)
        if locked is not None:
            error = signin.lockout_message(locked)
        elif form.is_valid():
            check = two_factor.verify(user, form.cleaned_data["code"])
            if check.device is not None:
                return _code_passed(request, attempt, user, check, str(held["next"]))
            if check.throttled:
                error = THROTTLED
            else:
                locked = signin.fail(attempt, signin.CODE_STEP)
                error = signin.lockout_message(locked) if locked else WRONG_CODE
        else:
            error = WRONG_CODE
    context = {"form": form, "error": error, "username": user.get_username()}
    return render(request, "web/login_otp.html", context)


def _code_passed(
    request: HttpRequest, attempt: signin.Attempt, user: User, check: two_factor.Check, to: str
) -> HttpResponse:
    sessions.sign_in(request, user, check.device)
    signin.succeed(attempt, user, check.method)
    if check.method == "recovery":
        left = two_factor.recovery_codes_left(user)
        messages.warning(
            request,
            f"You used a recovery code; {left} left. Make new ones on the Security page "
            "if your phone is lost.",
        )
    return redirect(_next_url(request, to))


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The one-time link a new member (or one who forgot) gets from an owner."""

    template_name = "web/set_password.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("web:login")
    reset_url_token = "set-password"  # noqa: S105 (a URL segment Django swaps the token for)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.record_password_set(form.user)
        messages.success(self.request, "Your password is set. Sign in with it now.")
        return response


# Two-factor enrolment: the member's own security page.


@two_factor_exempt
@staff_required
def security(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if request.method == "POST" and not two_factor.is_enrolled(user):
        return _confirm_app(request, user)
    return _render_security(request, user, CodeForm())


def _confirm_app(request: HttpRequest, user: User) -> HttpResponse:
    form = CodeForm(request.POST)
    try:
        codes = (
            services.enable_two_factor(user, form.cleaned_data["code"]) if form.is_valid() else None
        )
    except two_factor.TooSoon:
        form.add_error("code", THROTTLED)
        return _render_security(request, user, form, status=400)
    if codes is None:
        form.add_error("code", WRONG_CODE)
        return _render_security(request, user, form, status=400)
    device = two_factor.app_device(user)
    sessions.verify_session(request, device)
    _show_once(request, "codes", codes)
    messages.success(request, "Two-factor login is on. Store your recovery codes now.")
    return redirect("web:security")


def _render_security(
    request: HttpRequest, user: User, form: CodeForm, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "enrolled": two_factor.is_enrolled(user)}
    if context["enrolled"]:
        shown = _take_shown(request, "codes")
        context["codes"] = shown["value"] if shown else None
        context["codes_left"] = two_factor.recovery_codes_left(user)
        context["device"] = two_factor.app_device(user)
    else:
        device = two_factor.pending_device(user)
        context["qr"] = qr_data_uri(device.config_url)
        context["secret"] = two_factor.secret_text(device)
    context["required"] = settings.REQUIRE_2FA
    return render(request, "web/security.html", context, status=status)


def qr_data_uri(text: str) -> str:
    """Our own SVG (segno writes it), embedded as an image: it never runs as markup."""
    svg = segno.make(text, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@two_factor_exempt
@staff_required
@require_POST
def security_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, for a member who can show a current code from the app."""
    user = _me(request)
    form = CodeForm(request.POST)
    check = two_factor.verify(user, form.cleaned_data["code"]) if form.is_valid() else None
    if check is None or check.method != "app":
        messages.error(request, "Enter a current code from the app to make new recovery codes.")
        return redirect("web:security")
    _show_once(request, "codes", services.renew_recovery_codes(user))
    messages.success(request, "New recovery codes; the old ones no longer work.")
    return redirect("web:security")


@two_factor_exempt
@staff_required
@require_POST
def security_disable(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    form = CodeForm(request.POST)
    check = two_factor.verify(user, form.cleaned_data["code"]) if form.is_valid() else None
    if check is None or check.device is None:
        messages.error(request, "Enter a current code (or a recovery code) to turn it off.")
        return redirect("web:security")
    services.disable_two_factor(user)
    messages.success(request, "Two-factor login is off for your account.")
    return redirect("web:security")


# The Team page: owners manage members and the installation's API tokens.


@owner_required
def team(request: HttpRequest) -> HttpResponse:
    return _render_team(request, AddMemberForm(), TokenForm())


def _render_team(
    request: HttpRequest, add_form: AddMemberForm, token_form: TokenForm, status: int = 200
) -> HttpResponse:
    enrolled = two_factor.enrolled_user_ids()
    owners = services.active_owner_ids()
    rows = [
        {
            "user": member,
            "role": services.role_name(member),
            "two_factor": member.pk in enrolled,
            "last_owner": owners == {member.pk},
            "waiting": not member.has_usable_password(),
        }
        for member in services.members()
    ]
    context = {
        "rows": rows,
        "roles": Role.choices,
        "add_form": add_form,
        "token_form": token_form,
        "api_tokens": ApiToken.objects.select_related("user").order_by("revoked", "-id"),
        "link": _take_shown(request, "link"),
        "token": _take_shown(request, "token"),
        "me": request.user.pk,
    }
    return render(request, "web/team.html", context, status=status)


@owner_required
@require_POST
@sensitive_post_parameters("password")
def team_add(request: HttpRequest) -> HttpResponse:
    me = _me(request, Role.OWNER)
    form = AddMemberForm(request.POST)
    if not form.is_valid():
        return _render_team(request, form, TokenForm(), status=400)
    data = form.cleaned_data
    try:
        member = services.add_member(
            data["username"], data["email"], data["role"], _actor(me), data["password"] or None
        )
    except FounderOpsError as error:
        form.add_error(None, str(error))
        return _render_team(request, form, TokenForm(), status=400)
    if not data["password"]:
        _offer_link(request, member)
    messages.success(request, f"Added {member.get_username()} as {data['role']}.")
    return redirect("web:team")


def _offer_link(request: HttpRequest, member: User) -> None:
    link = settings.SITE_URL.rstrip("/") + services.set_password_path(member)
    _show_once(request, "link", link, member.get_username())


def _member(pk: int) -> User:
    return get_object_or_404(User, pk=pk)


def _actor(user: User) -> str:
    return f"user:{user.get_username()}"


@owner_required
@require_POST
def team_role(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request, Role.OWNER)
    member = _member(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the roles.")
        return redirect("web:team")
    role = form.cleaned_data["role"]
    if _done(request, lambda: services.change_role(member, role, _actor(me))):
        messages.success(request, f"{member.get_username()} is now {role}.")
    if member.pk == me.pk and role != Role.OWNER:
        return redirect(settings.LOGIN_REDIRECT_URL)
    return redirect("web:team")


@owner_required
@require_POST
def team_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request, Role.OWNER)
    member = _member(pk)
    if member.pk == me.pk:
        messages.error(request, "You cannot deactivate your own account; ask another owner.")
    elif _done(request, lambda: services.deactivate(member, _actor(me))):
        messages.success(request, f"{member.get_username()} can no longer sign in.")
    return redirect("web:team")


@owner_required
@require_POST
def team_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request, Role.OWNER)
    member = _member(pk)
    services.reactivate(member, _actor(me))
    messages.success(request, f"{member.get_username()} can sign in again.")
    return redirect("web:team")


@owner_required
@require_POST
def team_reset_2fa(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request, Role.OWNER)
    member = _member(pk)
    removed = services.reset_two_factor(member, _actor(me))
    if removed:
        messages.success(request, f"{member.get_username()} sets up two-factor login again.")
    else:
        messages.info(request, f"{member.get_username()} had no two-factor login to reset.")
    return redirect("web:team")


@owner_required
@require_POST
def team_link(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-time set-password link for a member (a new one, or one who forgot theirs)."""
    _me(request, Role.OWNER)
    member = _member(pk)
    if not member.is_active:
        messages.error(request, "Reactivate the account first.")
    else:
        _offer_link(request, member)
    return redirect("web:team")


@owner_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    me = _me(request, Role.OWNER)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render_team(request, AddMemberForm(), form, status=400)
    try:
        row, token = tokens.create_token(me, form.cleaned_data["name"], form.scope_list())
    except FounderOpsError as error:
        form.add_error(None, str(error))
        return _render_team(request, AddMemberForm(), form, status=400)
    _show_once(request, "token", token, row.name)
    return redirect("web:team")


@owner_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request, Role.OWNER)
    row = get_object_or_404(ApiToken, pk=pk)
    tokens.revoke_token(row, _actor(me))
    messages.success(request, f"Revoked the token {row.name!r}.")
    return redirect("web:team")


def _done(request: HttpRequest, action: Callable[[], object]) -> bool:
    """Run a team change; a refusal (the last owner, …) becomes the page's error message."""
    try:
        action()
    except FounderOpsError as error:
        messages.error(request, str(error))
        return False
    return True
