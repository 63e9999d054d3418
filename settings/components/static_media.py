"""Static and media files: collected into STATIC_ROOT, served by Nginx in the stacks."""

from settings.env import env_path
from settings.media_storage import default_storage

STATIC_URL = "/static/"
MEDIA_URL = "/media/"
STATIC_ROOT = env_path("DJANGO_STATIC_ROOT", VAR_DIR / "static")  # noqa: F821
MEDIA_ROOT = env_path("DJANGO_MEDIA_ROOT", VAR_DIR / "media")  # noqa: F821
STORAGES = {
    # The local MEDIA_ROOT, or an S3-compatible bucket (ADMIN2_MEDIA_STORAGE=s3).
    "default": default_storage(ENVIRONMENT),  # noqa: F821 (defined by __init__)
    # Hashed names let Nginx cache them for a year; the manifest is written by collectstatic.
    # Django's ManifestStaticFilesStorage, remembering each URL (admin2/storage.py).
    "staticfiles": {"BACKEND": "admin2.storage.ManifestStaticFilesStorage"},
}
# Public media is served by Nginx (another uid); exports and reports are blocked there.
FILE_UPLOAD_PERMISSIONS = 0o644
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
