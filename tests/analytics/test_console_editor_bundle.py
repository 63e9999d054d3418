"""The committed editor bundle was built from the committed sources and lockfile.

The bundle's first line carries the SHA-256 ``build.mjs`` computed over its inputs; this
recomputes it without Node. ``just editor-bundle-check`` (CI) rebuilds and compares bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import re

from harness.processes import REPO

EDITOR = REPO / "src/admin2_analytics/editor"
BUNDLE = REPO / "src/admin2_analytics/admin2_analytics/static/admin2_analytics/console-editor.js"


def _sources_hash() -> str:
    inputs = ["package.json", "package-lock.json", "build.mjs"]
    inputs += [f"src/{p.name}" for p in sorted((EDITOR / "src").iterdir(), key=lambda p: p.name)]
    digest = hashlib.sha256()
    for path in inputs:
        digest.update(path.encode() + b"\0" + (EDITOR / path).read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_bundle_was_built_from_the_committed_sources():
    first = BUNDLE.read_text(encoding="utf-8").split("\n", 1)[0]
    recorded = re.search(r"sources sha256 ([0-9a-f]{64})", first)
    assert recorded, f"{BUNDLE.name} has no sources line: rebuild with `just editor-bundle`"
    assert recorded.group(1) == _sources_hash(), "sources changed: run `just editor-bundle`"


def test_the_bundle_is_small_and_needs_no_eval():
    data = BUNDLE.read_bytes()
    assert len(gzip.compress(data, 9)) <= 200 * 1024  # the ceiling, gzipped
    assert b"eval(" not in data and b"new Function" not in data  # script-src 'self' only
