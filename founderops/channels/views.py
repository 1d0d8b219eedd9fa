"""Public pages of the channels: the CSAT links in reply e-mails.

A GET never records a rating: mail scanners and link previews fetch every link in a mail.
The page asks for one click on a button (a POST with CSRF), which only a person makes.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from founderops.channels import outbound
from founderops.core.errors import InvalidInput
from founderops.support import services
from founderops.support.models import Message, Rating, Ticket


class RatingForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=services.RATING_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Anything to add? (optional)",
    )


def rated_message(token: str) -> Message:
    """The reply a link rates; InvalidInput for a bad, expired or non-reply link."""
    message_id = outbound.rated_message_id(token)
    message = Message.objects.filter(pk=message_id).select_related("ticket").first()
    if message is None or message.author not in services.RATABLE:
        raise InvalidInput("this rating link is invalid or has expired")
    return message


def invalid(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "channels/rate_invalid.html", {"reason": reason}, status=400)


def _private(response: HttpResponse) -> HttpResponse:
    # Links in mail end up in search engines when forwarded; these pages are for one person.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str, score: str) -> HttpResponse:
    try:
        message = rated_message(token)
    except InvalidInput as error:
        return _private(invalid(request, str(error)))
    if score not in Rating.Score.values:
        return _private(invalid(request, "this rating link is invalid or has expired"))
    form = RatingForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.rate_reply(message, score, Ticket.Channel.EMAIL, form.cleaned_data["comment"])
        except InvalidInput as error:
            form.add_error("comment", str(error))
        else:
            return redirect("csat_thanks", token=token)
    other = Rating.Score.BAD if score == Rating.Score.GOOD else Rating.Score.GOOD
    context = {
        "form": form,
        "token": token,
        "label": Rating.Score(score).label,
        "other": other,
        "other_label": other.label,
    }
    return _private(
        render(request, "channels/rate.html", context, status=400 if form.errors else 200)
    )


@login_not_required
@require_http_methods(["GET"])
def rate_thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        message = rated_message(token)
    except InvalidInput as error:
        return _private(invalid(request, str(error)))
    rating = Rating.objects.filter(message=message).first()
    return _private(render(request, "channels/rate_thanks.html", {"rating": rating}))
