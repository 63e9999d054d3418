"""Release job, run once per deploy by the Compose ``migrate`` service before web and workers.

Migrates under a PostgreSQL advisory lock (a second release waits), and with
``--publish-static DIR`` copies this image's static files into the volume Nginx serves,
deleting nothing the previous release's pages still reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

# pg_advisory_lock key, fixed so every release of every image agrees on it ("adm2").
RELEASE_LOCK_KEY = 0x61646D32
# Written last: its new content refers to hashed files that must already be in place.
MANIFEST = "staticfiles.json"


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection

    locked = connection.vendor == "postgresql"
    if locked:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [RELEASE_LOCK_KEY])
        waited = time.monotonic() - started
        print(f"release: holding the migration lock (waited {waited:.1f}s)", flush=True)
    try:
        call_command("migrate", interactive=False, verbosity=1)
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RELEASE_LOCK_KEY])


def _same(source: Path, target: Path) -> bool:
    try:
        return target.stat().st_size == source.stat().st_size and (
            target.read_bytes() == source.read_bytes()
        )
    except FileNotFoundError:
        return False


def publish_static(source: Path, target: Path) -> tuple[int, int]:
    """Copy new or changed files from ``source`` into ``target``; return (copied, unchanged)."""
    if not (source / MANIFEST).is_file():
        raise SystemExit(f"release: {source} has no {MANIFEST}: was collectstatic run?")
    target.mkdir(parents=True, exist_ok=True)
    copied = unchanged = 0
    files = sorted(p for p in source.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == MANIFEST)
    for path in files:
        destination = target / path.relative_to(source)
        if _same(path, destination):
            unchanged += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Rename into place: Nginx never serves a half-written file.
        partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
        shutil.copyfile(path, partial)
        partial.chmod(0o644)
        partial.replace(destination)
        copied += 1
    return copied, unchanged


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish-static", type=Path, metavar="DIR")
    parser.add_argument("--skip-migrate", action="store_true", help="only publish static files")
    args = parser.parse_args(argv)

    from admin2.bootstrap import configure

    configure()
    import django
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        # A configuration error is the operator's to fix: one line, no traceback.
        raise SystemExit(f"release: configuration error: {exc}") from None
    if not args.skip_migrate:
        migrate()
    if args.publish_static:
        source = Path(settings.STATIC_ROOT)
        if source.resolve() == args.publish_static.resolve():
            raise SystemExit("release: --publish-static must differ from STATIC_ROOT")
        copied, unchanged = publish_static(source, args.publish_static)
        print(
            f"release: published static files to {args.publish_static}: "
            f"{copied} copied, {unchanged} unchanged",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
