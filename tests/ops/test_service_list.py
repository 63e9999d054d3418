"""deploy/services is the one list of Compose services: it matches both Compose files, and no
script or test that needs the list carries a copy of it."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from harness.processes import REPO
from tests.containers.services import read_services

STACKS = ("staging", "production")
# Every file that reads the list: each had its own copy before deploy/services.
READERS = [
    "deploy/remote/release.sh",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "deploy/remote/release").glob("*.sh")),
    "deploy/lib/config-sums.sh",
    "deploy/check.sh",
    "tests/containers/contract.py",
    "tests/deploy/standin_docker.py",
]
# check.sh's own vocabulary: checks named after the services they look at, not a service list.
NOT_A_COPY = {
    "deploy/check.sh": [
        "  checks=(redis db workers)",
        "(redis, db, config, backup, workers or all)",
    ],
}


def compose_services(stack: str) -> dict[str, dict]:
    text = (REPO / "containers" / f"docker-compose.{stack}.yml").read_text()
    return yaml.safe_load(text)["services"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_list_names_exactly_the_services_of_each_compose_file(stack):
    listed = {s.name for s in read_services() if stack in s.stacks}
    assert listed == set(compose_services(stack)), "update deploy/services with the Compose file"


@pytest.mark.parametrize("stack", STACKS)
def test_the_services_listed_as_the_app_image_run_the_admin2_image(stack):
    defined = compose_services(stack)
    for service in read_services():
        if stack in service.stacks:
            image = str(defined[service.name].get("image", ""))
            runs_admin2 = image.split(":")[0] in ("admin2", "admin2-staging")
            assert runs_admin2 == (service.image == "app"), service


def copies(text: str, allowed: list[str]) -> list[str]:
    """Lines naming two services in a row, as a list literal or a command's arguments do."""
    alternatives = "|".join(
        re.escape(name) for name in sorted({s.name for s in read_services()}, key=len)[::-1]
    )
    pair = re.compile(
        rf"""(?<![\w-])["']?({alternatives})["']?[ \t,]+["']?({alternatives})["']?(?![\w-])"""
    )
    found = []
    for line in text.splitlines():
        match = pair.search(line)
        if match and match[1] != match[2] and not any(a in line for a in allowed):
            found.append(line.strip())
    return found


@pytest.mark.parametrize("reader", READERS)
def test_no_reader_keeps_a_copy_of_the_list(reader):
    assert copies((REPO / reader).read_text(), NOT_A_COPY.get(reader, [])) == []


def test_a_copy_is_noticed():
    listed = "APP_SERVICES=(celery celery-beat)"
    assert copies(listed + "\n", []) == [listed]
    assert copies('ALL = ["db", "redis"]\n', []) == ['ALL = ["db", "redis"]']


def test_the_shell_readers_see_the_same_list():
    script = (
        ". deploy/lib/services.sh; services production app 'worker|beat'; echo --;"
        " service_images production; echo --; . deploy/lib/config-sums.sh; config_sum_services"
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    workers, images, sums = result.stdout.split("--\n")
    assert workers.split() == ["celery", "celery-beat"]
    production = [s for s in read_services() if "production" in s.stacks]
    assert images.split() == list(dict.fromkeys(s.image for s in production))
    assert sums.split() == images.split()


def test_the_release_bundle_carries_the_list_and_passes_shellcheck(tmp_path):
    from harness.processes import venv_tool

    bundle = tmp_path / "bundle.sh"
    with bundle.open("w") as out:
        subprocess.run(
            ["bash", "-c", ". deploy/lib/release-bundle.sh; release_bundle deploy"],
            cwd=REPO, stdout=out, check=True,
        )  # fmt: skip
    text = bundle.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and text.endswith('main "$@"\n')
    assert "celery-beat   staging,production" in text  # the table, inlined
    result = subprocess.run(
        [venv_tool("shellcheck"), "--external-sources", str(bundle)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
