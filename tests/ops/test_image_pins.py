"""deploy/lib/registry.py and image_pins.py without a registry: names, series, the pin file.
Against a real registry they run in tests/deploy/test_deploy_engine.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.processes import REPO

sys.path.insert(0, str(REPO / "deploy" / "lib"))
import image_pins
import registry


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("postgres:15-bookworm", ("registry-1.docker.io", "library/postgres", "15-bookworm")),
        ("docker.io/library/redis:7.4", ("registry-1.docker.io", "library/redis", "7.4")),
        ("ghcr.io/acme/admin2:abc", ("ghcr.io", "acme/admin2", "abc")),
        ("127.0.0.1:5000/e2e/admin2:abc", ("127.0.0.1:5000", "e2e/admin2", "abc")),
        ("localhost/x", ("localhost", "x", None)),
    ],
)
def test_references_are_read_as_docker_reads_them(reference, expected):
    assert registry.split_reference(reference) == expected


@pytest.mark.parametrize("bad", ["postgres@sha256:" + "0" * 64, "ghcr.io/Acme/X:1", "a//b:1"])
def test_what_is_not_a_tagged_repository_is_refused(bad):
    with pytest.raises(registry.RegistryError):
        registry.split_reference(bad)


def test_only_loopback_registries_are_spoken_to_over_plain_http():
    assert registry._base("127.0.0.1:5000") == "http://127.0.0.1:5000/v2/"
    assert registry._base("localhost:5000") == "http://localhost:5000/v2/"
    assert registry._base("ghcr.io") == "https://ghcr.io/v2/"
    assert registry._base("127.0.0.1.example.com") == "https://127.0.0.1.example.com/v2/"


def test_newer_patches_are_the_same_series_and_suffix_newest_first():
    tags = ["15-bookworm", "15.9-bookworm", "15.10-bookworm", "15.10", "16.1-bookworm",
            "15.10-alpine", "15.2.1-bookworm"]  # fmt: skip
    assert image_pins.newer_patches("15-bookworm", tags) == ["15.10-bookworm", "15.9-bookworm"]
    assert image_pins.newer_patches("1.28-bookworm", ["1.28.1-bookworm", "1.29.0-bookworm"]) == [
        "1.28.1-bookworm"
    ]
    assert image_pins.newer_patches("latest", tags) == []


def test_the_committed_pin_file_names_every_third_party_image_of_production():
    pins = image_pins.entries((REPO / "containers" / "image-pins").read_text())
    compose = (REPO / "containers" / "docker-compose.production.yml").read_text()
    for _, name, source, digest in pins:
        # PostgreSQL is the base of the db image, built with pgBackRest on it
        assert f"image: {name}\n" in compose or f"POSTGRES_IMAGE: {name}\n" in compose
        assert source.endswith("/" + name.split(":")[0])
        assert digest == "-" or digest.startswith("sha256:")
    named = {name for _, name, _, _ in pins}
    assert named == {"postgres:15-bookworm", "redis:7.4-bookworm", "nginx:1.28-bookworm"}


def test_a_malformed_pin_line_is_named(tmp_path):
    pins = tmp_path / "image-pins"
    pins.write_text("# comment\npostgres:15 docker.io/library/postgres\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "lib" / "image_pins.py"), "check", str(pins)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "line 2: want 'NAME:TAG SOURCE DIGEST'" in result.stderr
