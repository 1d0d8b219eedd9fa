"""`founderops deploys hook add NAME` and `deploys list`: deploy webhooks."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from founderops.core.errors import InvalidInput
from founderops.monitoring import deploys
from founderops.monitoring.models import Deploy, DeployHook

SHOWN_DEPLOYS = 20


class Command(BaseCommand):
    help = (
        "Deploy webhooks. `deploys hook add NAME --provider vercel|generic` makes the URL and "
        "its secret (shown once); `deploys list` shows the hooks and the latest deploys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        hook = actions.add_parser("hook", help="manage deploy hooks")
        hook_actions = hook.add_subparsers(dest="hook_action", required=True, metavar="ACTION")
        add = hook_actions.add_parser("add", help="add a deploy hook", description=deploys.__doc__)
        add.add_argument("name", help="a short name, in the URL: /hooks/deploy/NAME/")
        add.add_argument("--provider", required=True, choices=DeployHook.Provider.values)
        add.add_argument("--component", default="", help="the component's slug it deploys")
        add.add_argument(
            "--secret-stdin",
            action="store_true",
            help="read the signing secret from standard input (Vercel makes its own)",
        )
        actions.add_parser("list", help="the hooks and the latest deploys")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list()
            return
        secret = sys.stdin.readline().strip() if options["secret_stdin"] else ""
        if options["secret_stdin"] and not secret:
            raise CommandError("no secret on standard input")
        try:
            hook, secret = deploys.create_hook(
                options["name"], options["provider"], options["component"], secret, actor="cli"
            )
        except InvalidInput as error:
            raise CommandError(str(error)) from None
        url = settings.SITE_URL.rstrip("/") + reverse("deploy_hook", args=[hook.name])
        self.stdout.write(f"URL:    {url}")
        if options["secret_stdin"]:
            self.stdout.write("secret: the one given (stored encrypted)")
        else:
            self.stdout.write(f"secret: {secret}")
            self.stdout.write("The secret is shown this once; it is stored encrypted.")

    def _list(self) -> None:
        hooks = DeployHook.objects.select_related("component")
        if not hooks:
            self.stdout.write("No deploy hooks. Add one with `founderops deploys hook add NAME`.")
            return
        for hook in hooks:
            component = hook.component.slug if hook.component else "-"
            self.stdout.write(f"{hook.name}\t{hook.provider}\tcomponent {component}")
        recent = Deploy.objects.select_related("hook")[:SHOWN_DEPLOYS]
        for deploy in recent:
            self.stdout.write(
                f"  {deploy.at:%Y-%m-%d %H:%M}  {deploy.hook.name}  {deploy.state:<11} "
                f"{deploy.environment or '-'}  {deploy.commit[:8] or '-'}  {deploy.external_id}"
            )
