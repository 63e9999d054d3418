def register() -> None:
    """Register admin links, periodic jobs and demo steps (filled in by the pages work)."""
