"""Process entry points share this: find the settings package and select it.

The top-level ``settings/`` package lives beside ``src/`` (``/app`` in the image) and is not
installed, so the working directory must be on ``sys.path`` the way ``manage.py`` has it.
"""

from __future__ import annotations

import os
import sys


def configure() -> None:
    # The only environment access outside settings/: which settings module to load.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
