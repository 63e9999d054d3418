"""docs/operations.md stays true: the recipes, scripts and files it names exist, and it uses
placeholders, never a real server address."""

from __future__ import annotations

import re
import subprocess

from harness.processes import REPO, venv_tool

DOC = (REPO / "docs" / "operations.md").read_text()


def recipes() -> set[str]:
    result = subprocess.run(
        [venv_tool("just"), "--summary"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_every_just_recipe_it_names_exists():
    named = set(re.findall(r"`just (?:stack=production )?([a-z][a-z-]*)\b(?!=)", DOC))
    assert named, "the runbook names recipes"
    assert named <= recipes(), named - recipes()


def test_every_script_and_repository_file_it_names_exists():
    pattern = r"(?<![\w./])((?:deploy|containers|\.devcontainer|\.github)/[\w./-]+\.\w+)"
    # files the operator creates on the server are not in the repository
    made_on_the_server = {"containers/.env.production", "deploy/.env"}
    paths = set(re.findall(pattern, DOC)) - made_on_the_server
    missing = sorted(p for p in paths if "STACK" not in p and not (REPO / p).exists())
    assert not missing, missing


def test_it_covers_the_operators_life():
    for heading in (
        "## First deploy on a new server",
        "## Routine deploy",
        "### No failed requests during a deploy",
        "## Rollback",
        "## Backups and restore",
        "## Rotating secrets",
        "## Reading logs",
        "### Redis",
        "### Database",
        "### Static files",
    ):
        assert heading in DOC


def test_it_uses_placeholders_not_real_addresses():
    addresses = set(re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", DOC)) - {"127.0.0.1"}
    assert not addresses, addresses
    assert "admin2.example.com" in DOC


def test_every_recipe_is_in_the_runbook():
    """Every recipe an operator or developer has is explained in docs/operations.md."""
    development = {
        "default",
        "demo",
        "test",
        "lint",
        "bench",
        "editor-bundle",
        "editor-bundle-check",
    }
    named = set(re.findall(r"`just (?:stack=\w+ )?([a-z][a-z-]*)\b(?!=)", DOC))
    assert recipes() - development - named == set()


def test_it_has_the_recovery_runbook_and_the_manual_duties():
    for heading in (
        "## Disaster recovery: a new server from nothing",
        "## Alerts",
        "## Patching",
        "## What an operator still does by hand",
    ):
        assert heading in DOC, heading
    recovery = DOC.split("## Disaster recovery")[1].split("\n## ")[0]
    for step in (
        "deploy/restore.sh --config",
        "install-host.sh",
        "just deploy-prod",
        "just restore",
    ):
        assert step in recovery, step
