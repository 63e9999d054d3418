"""deploy/build-prod.sh (`just build-prod`): BuildKit, base images pulled again on a schedule
(DEPLOY_PULL_EVERY_DAYS, weekly by default), the build cache pruned. A recording `docker`
stands in (the real build is proven by the engine tests); the checkout is a temporary copy so
the schedule's state (.deploy/last-pull) is the test's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from harness.processes import REPO
from tests.ops import recording_docker


def setup(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "deploy", checkout / "deploy", ignore=shutil.ignore_patterns(".env"))
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(checkout),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "x",
        ],
        check=True,
    )
    bin_dir, calls = recording_docker.install(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    env.update(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        DOCKER_CALLS=str(calls),
        DEPLOY_ENV_FILE=str(tmp_path / "none"),
    )
    return checkout, env, calls


def build(checkout, env):
    result = subprocess.run(
        [str(checkout / "deploy" / "build-prod.sh")],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def calls_of(calls):
    lines = recording_docker.recorded(calls)
    calls.unlink()
    return lines


def test_base_images_are_pulled_weekly_and_the_build_cache_pruned(tmp_path):
    checkout, env, calls = setup(tmp_path)

    build(checkout, env)
    first = calls_of(calls)
    build(checkout, env)
    second = calls_of(calls)

    assert first[0][0] == "build" and "--pull" in first[0], "never pulled here: pull now"
    assert "--pull" not in second[0], "pulled less than a week ago"
    assert ["builder", "prune", "--force", "--filter", "until=168h"] in second
    # a week later the pull comes back
    (checkout / ".deploy" / "last-pull").write_text(str(int(time.time()) - 8 * 86400))
    build(checkout, env)
    assert "--pull" in calls_of(calls)[0]


def test_the_schedule_is_configurable_and_zero_never_pulls(tmp_path):
    checkout, env, calls = setup(tmp_path)

    build(checkout, {**env, "DEPLOY_PULL_EVERY_DAYS": "0", "DEPLOY_BUILD_CACHE_KEEP_HOURS": "24"})

    recorded = calls_of(calls)
    assert "--pull" not in recorded[0]
    assert ["builder", "prune", "--force", "--filter", "until=24h"] in recorded
