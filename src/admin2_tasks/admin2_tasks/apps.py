from django.apps import AppConfig


class Admin2TasksConfig(AppConfig):
    name = "admin2_tasks"
    label = "admin2_tasks"
