"""Django's `diffsettings`, with every secret hidden the way the debug page hides it."""

from __future__ import annotations

from typing import Any

from django.conf import Settings, global_settings, settings
from django.core.management.commands import diffsettings
from django.views.debug import get_default_exception_reporter_filter


class Command(diffsettings.Command):
    help = "Displays the settings that differ from Django's defaults, secrets hidden."

    def handle(self, *args: Any, **options: Any) -> str:
        safe = get_default_exception_reporter_filter().get_safe_settings()
        user_settings = {key: repr(value) for key, value in safe.items()}
        default = options["default"]
        default_settings = diffsettings.module_to_dict(
            Settings(default) if default else global_settings
        )
        output = {"hash": self.output_hash, "unified": self.output_unified}[options["output"]]
        # `settings` is imported so the configured settings are loaded before they are read.
        assert settings.configured
        return "\n".join(output(user_settings, default_settings, **options))
