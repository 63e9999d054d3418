# Subclassing plugins.PluginConfig by its module: a PluginConfig imported here would be a
# second candidate for the app's default config, and Django would pick neither.
from admin2 import plugins
from admin2.registry import AdminLink, DemoProcess, DemoStep, HealthCheck, PeriodicJob
from admin2_tasks.queues import DEFAULT_QUEUE

SECTION = "Background tasks"  # = verbose_name: its links and its models share one section


class TasksConfig(plugins.PluginConfig):
    """Everything the tasks plugin contributes, read by the core (admin2.plugins).

    Its ready() also installs the Celery backend, which adopts every plugin's queues and
    tasks (see admin2_tasks.startup)."""

    name = "admin2_tasks"
    label = "tasks"
    verbose_name = SECTION
    admin2_url_prefix = "tasks/"

    queues = (DEFAULT_QUEUE,)
    tasks = ("admin2_tasks.tasks",)
    periodic_jobs = (
        PeriodicJob(
            "tasks: heartbeat",
            "admin2_tasks.heartbeat",
            every_seconds="ADMIN2_TASKS_HEARTBEAT_SECONDS",
            queue=DEFAULT_QUEUE.name,
        ),
        PeriodicJob("tasks: prune old task runs", "admin2_tasks.prune_task_runs", 6 * 3600),
    )
    admin_links = (
        AdminLink(SECTION, "Workers and queues", "tasks:status", "tasks.view_taskrun"),
        AdminLink(SECTION, "Run a task now", "tasks:run", "tasks.run_task"),
    )
    readiness_checks = (
        HealthCheck("broker", "admin2_tasks.readiness.check_broker", required=True),
        HealthCheck("workers", "admin2_tasks.readiness.check_workers", required=False),
    )
    demo_steps = (DemoStep("tasks: queue a round trip", "admin2_tasks.demo.queue_round_trip", 900),)
    demo_processes = (DemoProcess("celery worker", "admin2_tasks.demo.worker_argv"),)
    metrics = ("admin2_tasks.metrics",)

    def ready(self) -> None:
        from admin2_tasks import startup

        startup.start()
