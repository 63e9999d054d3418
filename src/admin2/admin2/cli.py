"""The ``admin2`` console script: Django's ``manage.py`` for this project."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from admin2.bootstrap import configure

    configure()
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(argv or sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration error is the operator's to fix: one line, no traceback.
        sys.stderr.write(f"admin2: configuration error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
