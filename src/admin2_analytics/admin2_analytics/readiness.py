def register() -> None:
    """Register the ClickHouse readiness check (filled in by the engine work)."""
