"""The revenue pages in Debian's Chromium, on the demo's Stripe history: none scrolls sideways
on a phone (375 px), and the MRR page is saved as artifacts/revenue.png (and -phone.png).

The history is generated relative to the real clock (the live server's thread reads it) and
stored through the real backfill before the browser starts, as everywhere in this suite.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from founderops.cli import demo, demo_billing
from founderops.core import clock
from founderops.customers.models import Customer
from founderops.reports import revenue
from tests.browser.steps import shoot
from tests.cockpit.test_browser_cockpit import PHONE, WIDEST
from tests.cockpit.test_browser_ops import TEXT_PAST_EDGE
from tests.revenue_world import demo_customers
from tests.web.test_browser import chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_fits_a_phone_screen_on_every_revenue_page(
    live_server: LiveServer, founder: User
) -> None:
    demo.load_customers(demo.read_customers())
    demo_billing.load(clock.now(), demo_customers())
    snap = revenue.snapshot(True)
    assert snap is not None
    month = snap.rows[snap.complete].month
    priya = Customer.objects.get(email="priya@wanderlines.example.com")
    paths = [
        "/revenue/",
        "/revenue/?profile=stripe",
        f"/revenue/movements/{month:%Y-%m}/new/",
        "/revenue/cohorts/",
        "/revenue/forecast/",
        "/revenue/risk/",
        "/revenue/insights/",
        f"/customers/{priya.pk}/",
    ]
    too_wide: dict[str, list[object]] = {}
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.goto(live_server.url + "/revenue/")
        shoot(page, "revenue.png")
        page.set_viewport_size(PHONE)
        for path in paths:
            page.goto(live_server.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[path] = [width, *page.evaluate(WIDEST), *page.evaluate(TEXT_PAST_EDGE)]
            if path == "/revenue/":
                shoot(page, "revenue-phone.png")
    assert too_wide == {}, json.dumps(too_wide, indent=1)
