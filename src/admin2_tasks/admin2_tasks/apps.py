from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "admin2_tasks"
    label = "tasks"
    verbose_name = "Background tasks"
    admin2_url_prefix = "tasks/"

    def ready(self) -> None:
        from admin2_tasks import contributions

        contributions.register()
