"""`safecampus worker`: run the background worker. `safecampus worker check`: is it alive?

`worker check` suits cron: when no worker has written a heartbeat for
WORKER_STALE_SECONDS it emails the administrators directly (the outbox needs
the worker it is reporting on) and exits 1.
"""

import signal
import threading

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandError

from safecampus.orgs.models import AdminRole, Person
from safecampus.worker.loop import AnotherWorkerRuns, Worker, single_worker_lock, worker_status


class Command(BaseCommand):
    help = "Run the background worker (deadlines, escalations, notification delivery)."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("action", nargs="?", default="run", choices=["run", "check"])
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--threads",
            type=int,
            default=8,
            help="sends at a time to receivers that answer promptly (slow ones get more)",
        )
        parser.add_argument("--batch", type=int, default=20, help="timers fired per transaction")
        parser.add_argument("--poll", type=float, default=0.25, help="seconds between polls")
        parser.add_argument(
            "--lease",
            type=float,
            default=None,
            help="seconds a claim holds before another worker may take over",
        )

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        if options["action"] == "check":
            self.check_alive()
            return
        try:
            # On SQLite one worker runs; held until this process ends.
            self._lock = single_worker_lock()
        except AnotherWorkerRuns as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        worker = Worker(
            batch=options["batch"],
            poll=options["poll"],
            threads=options["threads"],
            lease=options["lease"],
        )
        self.stdout.write(f"worker {worker.name} running (Ctrl-C stops it)")
        worker.run(stop, once=options["once"])

    def check_alive(self) -> None:
        alive, last = worker_status()
        if alive:
            self.stdout.write(f"OK: worker seen at {last:%Y-%m-%d %H:%M:%S}")
            return
        admins = list(
            Person.objects.filter(admin_role=AdminRole.SYSTEM, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        seen = f"{last:%Y-%m-%d %H:%M:%S %Z}" if last else "never"
        if admins:
            send_mail(
                "【平安校园】后台任务进程已停止 / safecampus worker is down",
                f"The safecampus worker was last seen: {seen}.\n"
                "Deadlines, reminders and notifications wait until it runs again.\n"
                "Start it with: safecampus worker",
                settings.DEFAULT_FROM_EMAIL,
                admins,
                fail_silently=True,
            )
        raise CommandError(f"worker not seen since {seen}; told {len(admins)} administrator(s)")
