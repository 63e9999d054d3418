"""The images from containers/Dockerfile, built on the real Docker Engine with BuildKit.

Built with no registry (local stand-ins for the base images) and checked where defects
showed up: new named volumes at the static roots and staging's venv belong to the image
user, and both images run Python 3.11 as that unprivileged user.
"""

from __future__ import annotations

import uuid

import pytest

from harness import engine

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(1200)]

PRODUCTION = f"admin2:{engine.TEST_TAG}"
STAGING = f"admin2-staging:{engine.TEST_TAG}"
# The embedded engine and what only it pulls in: an extra that production leaves out.
EMBEDDED = ("chdb", "pyarrow", "pandas", "numpy")
# Budgets for the production image; the stand-in base weighs about what the official one does
# (docs/containers.md, "Stand-ins for registry images").
# The venv grew from 132 to 163 MB with S3 media (django-storages pulls botocore, 33 MB, the
# models of every AWS service): docs/containers.md.
VENV_BUDGET_MB, IMAGE_BUDGET_MB = 175, 400


@pytest.fixture(scope="module")
def images():
    engine.require_engine()
    engine.ensure_images()
    engine.build_app("production", PRODUCTION)
    engine.build_app("staging", STAGING)
    return {"production": PRODUCTION, "staging": STAGING}


def run(image: str, *argv: str, volume: tuple[str, str] | None = None, check=False):
    args = ["run", "--rm", "--entrypoint", argv[0]]
    if volume:
        args += ["--volume", f"{volume[0]}:{volume[1]}"]
    return engine.docker(*args, image, *argv[1:], check=check, timeout=120)


@pytest.fixture
def fresh_volume():
    name = f"admin2-e2e-{uuid.uuid4().hex[:10]}"
    yield name
    engine.docker("volume", "rm", "-f", name, check=False)


@pytest.mark.parametrize(("stack", "target"), [("production", "/srv/static"),
                                                ("staging", "/app/static")])  # fmt: skip
def test_a_new_static_volume_is_writable_by_the_image_user(images, fresh_volume, stack, target):
    result = run(images[stack], "sh", "-c",
                 f"mkdir {target}/admin && touch {target}/admin/probe && id -u",
                 volume=(fresh_volume, target))  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "10001"


def test_the_staging_venv_belongs_to_the_image_user(images):
    probe = "touch /opt/venv/lib/python3.11/site-packages/probe && stat -c %u /opt/venv"
    result = run(images["staging"], "sh", "-c", probe)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "10001"


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_the_image_runs_python_311_as_the_unprivileged_user(images, stack):
    code = "import os, sys; print(sys.version_info[:2], os.getuid())"
    result = run(images[stack], "python", "-c", code, check=True)
    assert result.stdout.decode().strip() == "(3, 11) 10001"


def importable(image: str, modules: tuple[str, ...]) -> list[str]:
    code = f"import importlib.util as u; print(*[m for m in {modules!r} if u.find_spec(m)])"
    return run(image, "python", "-c", code, check=True).stdout.decode().split()


def test_the_production_image_has_no_embedded_engine(images):
    assert importable(images["production"], EMBEDDED) == []


def test_the_staging_image_has_the_embedded_engine(images):
    assert importable(images["staging"], EMBEDDED) == list(EMBEDDED)


def test_the_production_venv_fits_its_budget(images):
    du = run(images["production"], "du", "-sm", "/opt/venv", check=True)
    assert int(du.stdout.split()[0]) <= VENV_BUDGET_MB


def test_the_production_image_fits_its_budget(images):
    size = engine.docker("image", "inspect", "--format", "{{.Size}}", images["production"])
    assert int(size.stdout) / 1e6 <= IMAGE_BUDGET_MB
