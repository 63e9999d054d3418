"""docs/extending.md stays true: every file it names exists, and it has all its recipes."""

from __future__ import annotations

import re

from harness.processes import REPO

DOC = REPO / "docs" / "extending.md"
# A backticked path: has a slash or a file suffix, and no placeholder (<name>) or spaces.
PATH = re.compile(r"`([\w./-]+(?:/[\w.-]*|\.(?:py|md|sh|yml|toml|html|example)))`")
SECTIONS = ["A chart kind", "A background task and its queue", "A Compose service",
            "A setting", "A plugin"]  # fmt: skip


def named_paths(text: str) -> list[str]:
    return [p for p in PATH.findall(text) if not p.startswith(("admin2.", "django."))]


def test_every_recipe_is_there_and_lists_its_files():
    text = DOC.read_text()
    for title in SECTIONS:
        assert f"\n## {title}\n" in text, title
        section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
        assert "Files:" in section and named_paths(section), title


def test_every_file_the_page_names_exists():
    missing = [p for p in named_paths(DOC.read_text()) if not (REPO / p).exists()]
    assert not missing, f"docs/extending.md names files that do not exist: {missing}"


def test_the_check_would_notice_a_missing_file():
    assert named_paths("see `deploy/nothing-here.sh` and `src/<name>/apps.py`") == [
        "deploy/nothing-here.sh"
    ]
