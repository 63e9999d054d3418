"""``admin2 demo``: migrate, create a demo login, load plugin demo content, serve."""

from __future__ import annotations

import signal
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from admin2.registry import registry


class Command(BaseCommand):
    help = "Prepare demo content on the embedded defaults and start the development server."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not serve")

    def handle(self, *args, addr, no_serve, **options):
        if settings.ENVIRONMENT == "production":
            raise CommandError("the demo is for development; DJANGO_ENVIRONMENT is production")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        username, password = settings.ADMIN2_DEMO_USER, settings.ADMIN2_DEMO_PASSWORD
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        for step in registry.ordered_demo_steps():
            self.stdout.write(f"demo: {step.name} ...")
            step.run(self.stdout)
        if no_serve:
            self.stdout.write(self.style.SUCCESS("demo prepared"))
            return
        companions = []
        for process in registry.demo_processes.values():
            self.stdout.write(f"starting {process.name}")
            companions.append(subprocess.Popen(process.argv()))
        url = f"http://{addr}/{settings.ADMIN2_URL}"
        self.stdout.write(
            self.style.SUCCESS(f"\nadmin2 is at {url}\nlogin: {username} / {password}\n")
        )
        sys.stdout.flush()
        # SIGTERM (a supervisor, `docker stop`, a test harness) would end this process without
        # running the cleanup below and orphan the companions; make it unwind like Ctrl-C.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            for companion in companions:
                companion.terminate()
            for companion in companions:
                companion.wait(timeout=20)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)
