from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "admin2_analytics"
    label = "admin2_analytics"
