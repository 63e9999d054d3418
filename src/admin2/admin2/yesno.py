"""Yes/no words: one spelling list for settings, Gunicorn's config and query parameters."""

from __future__ import annotations

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_yes_no(text: str) -> bool | None:
    """True or False for a yes/no word (any case, blanks ignored); None for anything else."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
