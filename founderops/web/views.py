"""The founder's cockpit (server-rendered)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from founderops.ai import approvals


def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "web/inbox.html", {"approvals": approvals.pending()})
