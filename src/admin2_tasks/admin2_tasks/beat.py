"""The beat scheduler: the registry's periodic jobs, remembered across restarts, with a
heartbeat file that ``python -m admin2_tasks.health beat`` checks."""

from __future__ import annotations

from pathlib import Path

from celery.beat import PersistentScheduler


class RegistryScheduler(PersistentScheduler):
    def setup_schedule(self):
        import django

        django.setup()  # idempotent; the registry is filled by the apps' ready()
        from admin2.registry import registry
        from admin2_tasks.schedule import build_beat_schedule

        # Replacing the configured schedule makes the shelve drop jobs no plugin registers.
        self.app.conf.beat_schedule = build_beat_schedule(registry.periodic_jobs.values())
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
        self._touch_heartbeat()

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        self._touch_heartbeat()
        return interval

    def _touch_heartbeat(self) -> None:
        from django.conf import settings

        path = Path(settings.ADMIN2_TASKS_BEAT_HEARTBEAT_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
