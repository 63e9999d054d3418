"""Every script or file a Compose file names in its comments or mounts exists (the staging
file once pointed at an initdb/20-reader.sh that was never written)."""

from __future__ import annotations

import re

import pytest

from harness.processes import REPO

CONTAINERS = REPO / "containers"


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_every_initdb_script_named_exists(stack):
    text = (CONTAINERS / f"docker-compose.{stack}.yml").read_text()
    named = set(re.findall(r"\binitdb/([\w.-]+\.(?:sh|sql))\b", text))
    for directory in ("clickhouse/initdb", "postgres/initdb"):
        present = (
            {p.name for p in (CONTAINERS / directory).glob("*")}
            if (CONTAINERS / directory).is_dir()
            else set()
        )
        named -= present
    assert not named, f"{stack}: names missing initdb scripts {sorted(named)}"
