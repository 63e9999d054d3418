"""Where media (export and report files included) is kept: the local MEDIA_ROOT, or an
S3-compatible bucket through django-storages, so that every web and worker task of a
multi-host deployment sees the same files (docs/scaling.md, "Media on S3")."""

from __future__ import annotations

from urllib.parse import urlsplit

from settings.env import EnvError, env_choice, env_str

FILESYSTEM = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
S3_BACKEND = "storages.backends.s3.S3Storage"
# Reading an object spools it; above this it goes to a temporary file, not memory
# (django-storages' default, 0, never leaves memory).
S3_SPOOL_MEMORY_BYTES = 1024 * 1024


def default_storage(environment: str) -> dict:
    """The ``STORAGES["default"]`` entry ``ADMIN2_MEDIA_STORAGE`` chooses."""
    kind = env_choice("ADMIN2_MEDIA_STORAGE", ("filesystem", "s3"), "filesystem")
    return s3_storage(environment) if kind == "s3" else dict(FILESYSTEM)


def s3_storage(environment: str) -> dict:
    bucket = env_str("ADMIN2_S3_BUCKET").strip()
    if not bucket:
        raise EnvError("ADMIN2_S3_BUCKET: the bucket name is empty")
    options = {
        "bucket_name": bucket,
        "endpoint_url": _endpoint_url(),
        "region_name": env_str("ADMIN2_S3_REGION", "").strip() or None,
        "addressing_style": env_choice(
            "ADMIN2_S3_ADDRESSING_STYLE", ("auto", "path", "virtual"), "auto"
        ),
        # Files are private: the download view streams them after its own permission check.
        "default_acl": None,
        "querystring_auth": True,
        # A re-run export replaces its file under the same name instead of adding a copy.
        "file_overwrite": True,
        "max_memory_size": S3_SPOOL_MEMORY_BYTES,
    }
    credentials = {
        "ADMIN2_S3_ACCESS_KEY_ID": env_str("ADMIN2_S3_ACCESS_KEY_ID", "", secret=True).strip(),
        "ADMIN2_S3_SECRET_ACCESS_KEY": env_str(
            "ADMIN2_S3_SECRET_ACCESS_KEY", "", secret=True
        ).strip(),
    }
    for name, value in credentials.items():
        # Elsewhere boto3's own chain (its environment variables, an instance role) may
        # serve; production names its credentials, so a forgotten secret stops start-up.
        if not value and environment == "production":
            raise EnvError(
                f"{name}: production needs it (or {name}_FILE) with ADMIN2_MEDIA_STORAGE=s3"
            )
    if all(credentials.values()):
        options["access_key"] = credentials["ADMIN2_S3_ACCESS_KEY_ID"]
        options["secret_key"] = credentials["ADMIN2_S3_SECRET_ACCESS_KEY"]
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def _endpoint_url() -> str | None:
    """The S3 API's address (empty: AWS itself, chosen by the region)."""
    value = env_str("ADMIN2_S3_ENDPOINT_URL", "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EnvError(
            f"ADMIN2_S3_ENDPOINT_URL: expected an http(s):// URL with a host, got {value!r}"
        )
    try:
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise EnvError(f"ADMIN2_S3_ENDPOINT_URL: the URL has a malformed port: {value!r}") from None
    return value
