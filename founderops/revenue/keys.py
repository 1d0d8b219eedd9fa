"""What a Stripe API key and a webhook signing secret look like: checked when one is given
(`founderops stripe connect`, `stripe webhook-secret`, and the FOUNDEROPS_STRIPE_* settings at
start-up). No Django and no models here, so settings.py can use it; a reason never shows the
value.
"""

from __future__ import annotations

import re

from founderops.core.errors import InvalidInput

# What Stripe issues: a prefix naming the kind and mode, then letters and digits (sent in an
# HTTP header, so nothing else fits). Underscores are let through, no other character.
KEY_PREFIXES = ("rk_live_", "rk_test_", "sk_live_", "sk_test_")
KEY_BODY = re.compile(r"[A-Za-z0-9_]+")
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BODY = re.compile(r"[A-Za-z0-9+/=]+")
# Real keys and secrets are far longer; a shorter one was cut when copied.
MIN_BODY = 10
# Real keys are about 100 to 110 characters, secrets shorter; a longer one has more pasted in.
MAX_LENGTH = 255
# What else people paste, and where it goes instead.
NOT_A_KEY = {
    SECRET_PREFIX: "that is a webhook signing secret: use `founderops stripe webhook-secret`",
    "pk_live_": "that is a publishable key; give a restricted key (rk_…) or secret key (sk_…)",
    "pk_test_": "that is a publishable key; give a restricted key (rk_…) or secret key (sk_…)",
}


def check_api_key(key: str) -> str:
    """`key` when it is a Stripe secret or restricted key; the reason never shows the key."""
    hint = next((why for p, why in NOT_A_KEY.items() if key.startswith(p)), "")
    if hint:
        raise InvalidInput(f"not a Stripe API key: {hint}")
    prefix = next((p for p in KEY_PREFIXES if key.startswith(p)), "")
    if not prefix:
        raise InvalidInput(
            "not a Stripe API key: it starts with rk_live_ or rk_test_ (a restricted key), or "
            "sk_live_ or sk_test_"
        )
    _check_length(key, "API key")
    _check_body(key[len(prefix) :], prefix, KEY_BODY, "ASCII letters and digits", "API key")
    return key


def check_webhook_secret(secret: str) -> str:
    """`secret` when it is a webhook endpoint's signing secret; the reason never shows it."""
    if secret.startswith(KEY_PREFIXES):
        raise InvalidInput(
            "not a Stripe webhook signing secret: that is an API key: use "
            "`founderops stripe connect`"
        )
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidInput("not a Stripe webhook signing secret: it starts with whsec_")
    _check_length(secret, "webhook signing secret")
    _check_body(
        secret[len(SECRET_PREFIX) :],
        SECRET_PREFIX,
        SECRET_BODY,
        "ASCII letters, digits, +, / and =",
        "webhook signing secret",
    )
    return secret


def _check_length(value: str, what: str) -> None:
    if len(value) > MAX_LENGTH:
        raise InvalidInput(
            f"not a Stripe {what}: it is {len(value):,} characters long, and a real one is at "
            f"most {MAX_LENGTH}: was something else pasted with it?"
        )


def _check_body(body: str, prefix: str, allowed: re.Pattern[str], said: str, what: str) -> None:
    if body and not allowed.fullmatch(body):
        raise InvalidInput(
            f"not a Stripe {what}: after {prefix} it holds a character other than {said} "
            "(a space, a control character or a non-ASCII letter?)"
        )
    found = sum(char.isalnum() for char in body)
    if found < MIN_BODY:
        raise InvalidInput(
            f"not a Stripe {what}: {prefix} is followed by {found} letters and digits, and a "
            f"real one has at least {MIN_BODY}: copy it whole"
        )
