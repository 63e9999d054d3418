"""admin2 settings, composed with django-split-settings.

Order: every component (one per concern, one per plugin), then the environment chosen by
``DJANGO_ENVIRONMENT`` (development by default), then an optional, untracked ``local.py``.
"""

from pathlib import Path

from split_settings.tools import include, optional

from settings.env import env_choice

# The repository (``/app`` in the image). Defined here because the included files run in this
# module's namespace: their ``__file__`` is this file's, not their own.
BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENT = env_choice(
    "DJANGO_ENVIRONMENT", ("development", "staging", "production", "test"), "development"
)

include(
    "components/base.py",
    "components/logging.py",
    "components/database.py",
    "components/cache.py",
    "components/security.py",
    "components/static_media.py",
    "components/analytics.py",
    "components/tasks.py",
    "components/plugins.py",
    "components/metrics.py",
    f"environments/{ENVIRONMENT}.py",
    optional("local.py"),
    "components/validation.py",
)
