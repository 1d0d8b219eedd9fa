"""Run the web server, the job cluster, or both in one process tree, until told to stop.

`founderops up` runs both (the embedded default), `founderops web` and `founderops worker`
one each. The cluster is django-q2's: a sentinel process that guards the worker processes,
the pusher that takes jobs off the database broker, the monitor that saves results, and the
scheduler. SIGINT and SIGTERM stop everything gracefully: the web server stops accepting,
running jobs finish, then the process exits 0. A job cut short by a harder kill is delivered
again once its receipt expires (FOUNDEROPS_JOB_RETRY_SECONDS).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from django import db
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)

ALL_INTERFACES = {"", "0.0.0.0", "::"}  # noqa: S104 - a name for the check, not a bind


def proxy_options(proxy: str) -> dict[str, Any]:
    """waitress' options to take the client's address from a reverse proxy's headers.

    Only the named proxy is believed; from anyone else the X-Forwarded-* headers are
    removed, since a client could send them to dodge the login and widget rate limits.
    """
    if not proxy:
        return {}
    return {
        "trusted_proxy": proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
        "clear_untrusted_proxy_headers": True,
    }


class WebServer:
    """waitress serving the Django app from a thread; binds at construction."""

    def __init__(self, app: Callable[..., Any], host: str, port: int, threads: int) -> None:
        from waitress.server import create_server

        self._map: dict[int, Any] = {}
        self._server = create_server(
            app,
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            ident="FounderOps",
            **proxy_options(settings.TRUSTED_PROXY),
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    @property
    def url(self) -> str:
        server = self._server
        listen = getattr(server, "effective_listen", None)
        host, port = listen[0] if listen else (server.effective_host, server.effective_port)
        shown = "127.0.0.1" if host in ALL_INTERFACES else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        from waitress import wasyncore

        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(self._map)

    def _serve(self) -> None:
        from waitress import wasyncore

        # One short poll at a time, so stop() is noticed within half a second.
        while not self._stopping.is_set() and self._map:
            wasyncore.loop(timeout=0.5, map=self._map, count=1)


class Stop:
    """Set by SIGINT or SIGTERM; the main thread waits on it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            print("Still stopping: waiting for running jobs to finish.", file=sys.stderr)
        self.reason = signal.Signals(signum).name
        self.event.set()


JOB_LOGGER = "django-q"


def log_jobs() -> None:
    """Let django-q2 log each job (enqueued, processed, failed) at FOUNDEROPS_LOG_LEVEL.

    The settings keep it at WARNING so its "Enqueued …" lines stay out of every other
    command's output; the processes that run jobs want them. Called before the cluster
    forks, so every worker process inherits it.
    """
    logging.getLogger(JOB_LOGGER).setLevel(settings.LOG_LEVEL)


def add_web_arguments(parser: CommandParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--threads", type=int, default=8, help="request threads")


def web_server(options: dict[str, Any]) -> WebServer:
    from django.core.wsgi import get_wsgi_application

    # After collectstatic: WhiteNoise indexes the static files when the app is built.
    app = get_wsgi_application()
    try:
        return WebServer(app, options["host"], options["port"], options["threads"])
    except OSError as error:
        raise CommandError(
            f"cannot listen on {options['host']}:{options['port']}: {error.strerror}"
        ) from None


def printer(stream: OutputWrapper) -> Callable[[str], None]:
    def say(message: str) -> None:
        stream.write(message)
        stream.flush()

    return say


def finish(failed: str) -> None:
    if failed:
        raise CommandError(failed)


def require_migrated() -> None:
    count = pending_migrations()
    if count:
        raise CommandError(f"the database lacks {count} migrations: run `founderops migrate` first")


def pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def migrate_if_needed(out: Callable[[str], None]) -> None:
    count = pending_migrations()
    if count:
        out(f"Applying {count} database migrations…")
        call_command("migrate", interactive=False, verbosity=0)


def collect_static() -> None:
    # Incremental: unchanged files are skipped, so this is quick after the first start.
    call_command("collectstatic", interactive=False, verbosity=0)


def run(
    web_factory: Callable[[], WebServer] | None,
    cluster: bool,
    out: Callable[[str], None],
    monitoring: bool = False,
) -> str:
    """Serve until a signal or until a part dies; returns what died, or "" after a signal.

    With `monitoring`, the check engine runs on a thread of this process (the embedded
    `up`); in production it is its own process, `founderops monitor run`.
    """
    from django_q.cluster import Cluster

    from founderops.monitoring.engine import EngineThread

    stop = Stop()
    q = Cluster() if cluster else None  # installs its own handlers; ours replace them
    stop.install()
    # Forked processes must not share this process's database connections.
    db.connections.close_all()
    web: WebServer | None = None
    engine: EngineThread | None = None
    try:
        if q is not None:
            # Fork the cluster before the web server opens its socket and threads: a fork
            # copies both, and a forked copy of a threaded process is not safe to run.
            q.start()
        if monitoring:
            engine = EngineThread()
            engine.start()
        if web_factory is not None:
            web = web_factory()
            web.start()
        out(ready_message(web, cluster))
        failed = _watch(stop, q, web, engine)
        out(f"Stopping ({failed or stop.reason})…")
    finally:
        if web is not None:
            web.stop()
        if engine is not None:
            engine.stop()
        if q is not None:
            q.stop()
    out("Stopped.")
    return failed


def ready_message(web: WebServer | None, cluster: bool) -> str:
    count = settings.JOB_WORKERS
    jobs = f"{count} job worker{'s' if count > 1 else ''} and the schedules"
    if web is None:
        return f"FounderOps is running {jobs}. Press Ctrl-C to stop."
    serving = f"FounderOps is running at {web.url}"
    return f"{serving} with {jobs}. Press Ctrl-C to stop." if cluster else f"{serving}."


def _watch(stop: Stop, q: Any, web: WebServer | None, engine: Any = None) -> str:
    while not stop.event.wait(0.5):
        if q is not None and not q.sentinel.is_alive():
            return "the job cluster died"
        if web is not None and not web.is_alive():
            return "the web server died"
        if engine is not None and not engine.is_alive():
            return "the monitoring engine died"
    return ""
