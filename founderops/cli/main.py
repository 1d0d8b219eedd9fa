"""The `founderops` console script: every subcommand is a Django management command.

A malformed setting is the founder's to fix, not a bug: it ends the program with one line
naming the variable (exit 2), not a traceback. `--traceback` still shows one. Output piped into
a reader that stops early (`founderops stripe events | head`) ends quietly, as `cat` does.
"""

from __future__ import annotations

import os
import sys

CONFIGURATION_ERROR = 2
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command cut off by `head`


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "founderops.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    try:
        # Load the settings first: Django would otherwise report their error as a note
        # (`help`) or a traceback (every other command).
        settings.INSTALLED_APPS  # noqa: B018 - the access is the point
        execute_from_command_line(["founderops", *args])
    except ImproperlyConfigured as error:
        if "--traceback" in args:
            raise
        print(f"founderops: configuration error: {error}", file=sys.stderr)
        raise SystemExit(CONFIGURATION_ERROR) from None
    except BrokenPipeError:
        # Python's advice: point stdout at devnull so the flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(BROKEN_PIPE) from None


if __name__ == "__main__":
    main()
