"""`founderops diffsettings` and the debug page never show a secret."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command

from founderops.core.secrets import SettingsFilter

HIDDEN = SettingsFilter.cleansed_substitute


def diffsettings(*args: str) -> str:
    out = StringIO()
    call_command("diffsettings", *args, stdout=out)
    return out.getvalue()


def test_it_hides_the_stripe_key_and_webhook_secret(settings: Any) -> None:
    settings.STRIPE_API_KEY = "sk_test_abcdef123"
    settings.STRIPE_WEBHOOK_SECRET = ["whsec_one", "whsec_two"]
    shown = diffsettings()
    assert ("abcdef123" in shown, "whsec_" in shown) == (False, False)
    assert f"STRIPE_API_KEY = '{HIDDEN}'" in shown


def test_it_hides_the_password_inside_the_smtp_url(settings: Any) -> None:
    settings.SMTP_URL = "smtp://bob:hunter2@mail.example.com:587"
    shown = diffsettings()
    assert f"SMTP_URL = 'smtp://bob:{HIDDEN}@mail.example.com:587'" in shown


def test_it_hides_notification_urls_whole(settings: Any) -> None:
    settings.NOTIFY_URLS = ["slack://TokenA/TokenB/TokenC"]
    shown = diffsettings("--output", "unified")
    assert "TokenA" not in shown
    assert f"NOTIFY_URLS = '{HIDDEN}'" in shown


def test_it_still_shows_ordinary_settings(settings: Any) -> None:
    settings.STRIPE_LIVEMODE = False
    assert "STRIPE_LIVEMODE = False" in diffsettings()


def test_it_keeps_a_url_without_credentials_as_it_is() -> None:
    assert SettingsFilter().cleanse_setting("SITE_URL", "https://ops.example.com/") == (
        "https://ops.example.com/"
    )


def test_it_is_the_filter_of_the_debug_page(settings: Any) -> None:
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == "founderops.core.secrets.SettingsFilter"
