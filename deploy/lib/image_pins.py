#!/usr/bin/env python3
"""containers/image-pins: pin each third-party image by digest, or report newer releases.

image_pins.py pin [FILE]      asks the registry for each NAME's digest and rewrites FILE
image_pins.py check [FILE]    exit 3 when a pinned tag moved or a newer patch tag exists
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import registry

DEFAULT = Path(__file__).resolve().parents[2] / "containers" / "image-pins"
UPDATES = 3


def entries(text: str) -> list[tuple[int, str, str, str]]:
    """(line number, name, source, digest) of each pin line."""
    found = []
    for number, line in enumerate(text.splitlines()):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 3 or ":" not in fields[0].rsplit("/", 1)[-1]:
            want = "want 'NAME:TAG SOURCE DIGEST'"
            raise registry.RegistryError(f"line {number + 1}: {want}: {line}")
        found.append((number, *fields))
    return found


def tag_of(name: str) -> str:
    return name.rsplit(":", 1)[1]


def newer_patches(tag: str, available: list[str]) -> list[str]:
    """Tags of the same series and suffix one version level deeper, newest first:
    15-bookworm -> 15.10-bookworm, 15.9-bookworm; 1.28-bookworm -> 1.28.1-bookworm."""
    match = re.fullmatch(r"(\d+(?:\.\d+)*)(.*)", tag)
    if not match:
        return []
    series, suffix = match[1], match[2]
    pattern = re.compile(re.escape(series) + r"\.(\d+)" + re.escape(suffix))
    patches = [(int(m[1]), t) for t in available if (m := pattern.fullmatch(t))]
    return [t for _, t in sorted(patches, reverse=True)]


def pin(path: Path) -> int:
    lines = path.read_text().splitlines()
    for number, name, source, old in entries("\n".join(lines)):
        new = registry.digest(f"{source}:{tag_of(name)}")
        lines[number] = re.sub(r"\S+\s*$", new, lines[number])
        print(f"{name}: {new}" + ("" if old == new else f" (was {old})"))
    path.write_text("\n".join(lines) + "\n")
    return 0


def check(path: Path) -> int:
    status = 0
    for _, name, source, pinned in entries(path.read_text()):
        tag = tag_of(name)
        current = registry.digest(f"{source}:{tag}")
        patches = newer_patches(tag, registry.tags(source))
        latest = f"; newest patch tag {patches[0]}" if patches else ""
        if pinned == "-":
            print(f"UNPINNED {name}: {source}:{tag} is {current}{latest} (just pin-images)")
            status = UPDATES
        elif current != pinned:
            print(f"UPDATE {name}: {source}:{tag} is now {current}, pinned {pinned}{latest}")
            status = UPDATES
        else:
            print(f"ok {name}: pinned {pinned} is {source}:{tag}{latest}")
    return status


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[1] not in ("pin", "check"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = Path(argv[2]) if len(argv) == 3 else DEFAULT
    try:
        return pin(path) if argv[1] == "pin" else check(path)
    except (registry.RegistryError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
