"""The Compose services as deploy/services lists them: the one list tests read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SERVICES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "services"


@dataclass(frozen=True)
class Service:
    name: str
    stacks: frozenset[str]
    image: str  # "app": the admin2 image
    role: str


def read_services(path: Path = SERVICES_FILE) -> list[Service]:
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, stacks, image, role = line.split()
            rows.append(Service(name, frozenset(stacks.split(",")), image, role))
    return rows


def names(stack: str, *, image: str | None = None, roles: set[str] | None = None) -> list[str]:
    """The names in the file's order, of ``stack``'s services of this image and these roles."""
    return [
        s.name
        for s in read_services()
        if stack in s.stacks
        and (image is None or s.image == image)
        and (roles is None or s.role in roles)
    ]
