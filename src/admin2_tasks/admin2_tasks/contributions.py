def register() -> None:
    """Install the Celery background backend, readiness checks and admin links."""
