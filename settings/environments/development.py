"""Development: embedded everything (SQLite, chDB, tasks without Redis), DEBUG on."""

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
