"""Environment parsing for Django settings: the only place that reads ``os.environ``.

Every helper fails loudly with the variable's name, so a bad deployment stops at start-up
instead of misbehaving later. Secrets may also be given as ``NAME_FILE`` (Docker secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from admin2.yesno import parse_yes_no

_MISSING = object()


class EnvError(ImproperlyConfigured):
    """A missing or malformed environment variable; the message names it."""


def _raw(name: str, default=_MISSING, *, secret: bool = False):
    file_name = f"{name}_FILE"
    if secret and os.environ.get(file_name):
        if name in os.environ:
            raise EnvError(f"{name}: set either {name} or {file_name}, not both")
        path = Path(os.environ[file_name])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise EnvError(f"{file_name}: cannot read secret file {path}: {exc.strerror}") from exc
    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise EnvError(f"{name}: required environment variable is not set")
        return default
    return value


def is_set(name: str) -> bool:
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


def env_str(name: str, default=_MISSING, *, secret: bool = False) -> str:
    value = _raw(name, default, secret=secret)
    if value is _MISSING or value is None:
        return value
    return str(value)


def env_bool(name: str, default: bool | object = _MISSING) -> bool:
    value = _raw(name, default)
    if isinstance(value, bool):
        return value
    if not value.strip():
        return False
    parsed = parse_yes_no(value)
    if parsed is not None:
        return parsed
    raise EnvError(f"{name}: expected a boolean (true/false, 1/0, yes/no), got {value!r}")


def env_int(name: str, default: int | object = _MISSING, *, minimum: int | None = None) -> int:
    value = _raw(name, default)
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(value.strip())
        except ValueError:
            raise EnvError(f"{name}: expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise EnvError(f"{name}: must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float | object = _MISSING, *, minimum: float = 0.0) -> float:
    value = _raw(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EnvError(f"{name}: expected a number, got {value!r}") from None
    if number < minimum:
        raise EnvError(f"{name}: must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str] | object = _MISSING, *, secret=False) -> list[str]:
    value = _raw(name, default, secret=secret)
    if isinstance(value, list):
        return value
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str | object = _MISSING) -> str:
    value = env_str(name, default).strip().lower()
    if value not in choices:
        raise EnvError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def env_path(name: str, default: Path | str | object = _MISSING) -> Path:
    value = _raw(name, default)
    if value in ("", None):
        raise EnvError(f"{name}: expected a filesystem path, got an empty value")
    return Path(value).expanduser()


def env_url(name: str, default: str | object = _MISSING, *, schemes: tuple[str, ...]) -> str:
    value = env_str(name, default, secret=True)
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise EnvError(
            f"{name}: expected a URL with scheme {' or '.join(schemes)}, got {parts.scheme!r}"
        )
    return value


def url_password(url: str) -> str:
    """The password a ``redis://``/``rediss://`` URL carries (``unix://`` sockets: the
    ``password`` query parameter), or ``""``."""
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    return unquote(parse_qs(parts.query).get("password", [""])[0])


def database_from_url(name: str, url: str) -> dict:
    """Turn ``postgres://user:pass@host:port/db`` into a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise EnvError(f"{name}: only postgres:// URLs are supported, got {parts.scheme!r}")
    db_name = parts.path.lstrip("/")
    if not db_name:
        raise EnvError(f"{name}: the URL names no database")
    try:
        port = parts.port or 5432
    except ValueError:
        raise EnvError(f"{name}: the URL has a malformed port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(db_name),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port),
    }
