"""deploy/deploy.sh against a real sshd on 127.0.0.1 (see conftest: only `docker` is a stand-in)."""

from __future__ import annotations

import fcntl
import json
import subprocess

import pytest

from harness.git import git
from harness.processes import REPO

# end to end over SSH; nothing here touches the database, so the SQLite rerun skips it
pytestmark = pytest.mark.slow


def _kind(call: dict) -> str | None:
    argv = call["argv"]
    if argv[:1] == ["compose"]:
        # drop the global options and their values (-f FILE, --env-file FILE)
        rest = argv[1:]
        while rest and rest[0].startswith("-"):
            rest = rest[2:]
        sub = rest[0] if rest else ""
        if sub == "build":
            return "build"
        if sub == "run" and "migrate" in rest and "--check" not in rest:
            return "migrate"
        if sub == "up" and rest[-1] == "web":
            return "up-web"
        if sub == "up" and "celery" in rest:
            return "up-workers"
    if argv[:1] == ["build"]:
        return "build"
    if argv[:1] == ["inspect"] and "{{.State.Status}}" not in argv:
        return "health"
    return None


def _deploy_log_lines(world) -> list[str]:
    return (world.server / ".deploy" / "deploy.log").read_text().splitlines()


def _index(lines: list[str], text: str, start: int = 0) -> int:
    for number, line in enumerate(lines[start:], start):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in the deploy log after line {start}:\n" + "\n".join(lines))


def _web(world) -> list[dict]:
    return [c for c in world.containers() if c["service"] == "web" and c["running"]]


def test_deploy_takes_the_lock_checks_out_builds_migrates_and_switches_in_order(world):
    first = world.commit("first release")
    assert world.deploy().returncode == 0
    calls_before = len(world.calls())
    second = world.commit("second release")

    result = world.deploy()

    assert result.returncode == 0, result.stdout + result.stderr
    calls = world.calls()[calls_before:]
    kinds = [_kind(c) for c in calls if _kind(c)]
    # lock → checkout happen before anything touches docker; every docker call that matters
    # ran with the lock held and with exactly the deployed commit checked out
    for call in calls:
        if _kind(call):
            assert call["lock_held"] is True, call
            assert call["head"] == second, call
    assert kinds.index("build") < kinds.index("migrate") < kinds.index("up-web")
    assert kinds.index("up-web") < kinds.index("health") < kinds.index("up-workers")
    build = next(c for c in calls if _kind(c) == "build")
    assert build["tag"] == second, "images are tagged with the commit id"
    migrations = [c for c in calls if _kind(c) == "migrate"]
    assert len(migrations) == 1 and migrations[0]["tag"] == second
    assert ["compose", "version"] in [c["argv"] for c in calls]

    log = _deploy_log_lines(world)
    start = _index(log, f"deploying {second}")
    order = [
        "checked out",
        "building images",
        "migrating",
        "starting 2 new web",
        "waiting for health",
    ]
    positions = [_index(log, text, start) for text in order]
    assert positions == sorted(positions)
    assert _index(log, "lock acquired", start - 2) < start
    recorded = _index(log, f"release {second} recorded", start)
    assert positions[-1] < recorded < _index(log, "lock released", recorded)

    assert world.state("current") == second
    assert world.state("previous") == first
    assert world.server_head() == second
    web = _web(world)
    assert len(web) == 2 and {c["tag"] for c in web} == {second}, "old replicas replaced"
    workers = [c for c in world.containers() if c["service"] in ("celery", "celery-beat")]
    assert {c["tag"] for c in workers} == {second}
    releases = (world.server / ".deploy" / "releases.log").read_text().splitlines()
    assert releases[-1].split()[1:4] == ["deploy", second, "ok"]


def test_new_replicas_start_beside_the_old_ones_before_any_old_one_stops(world):
    world.commit("one")
    assert world.deploy().returncode == 0
    old_ids = {c["id"] for c in _web(world)}
    calls_before = len(world.calls())
    world.commit("two")

    assert world.deploy().returncode == 0

    calls = [c["argv"] for c in world.calls()[calls_before:]]
    scale_up = next(i for i, a in enumerate(calls) if "--scale" in a)
    assert "web=4" in calls[scale_up] and "--no-recreate" in calls[scale_up]
    stop = next(i for i, a in enumerate(calls) if a[0] == "stop")
    assert set(calls[stop][-2:]) == old_ids
    health = [i for i, a in enumerate(calls) if a[0] == "inspect" and "{{.State.Status}}" not in a]
    reloads = [i for i, a in enumerate(calls) if "nginx -s reload" in a[-1]]
    assert scale_up < min(health) and max(health) < stop
    assert any(health[-1] < r < stop for r in reloads), "Nginx learns the new replicas first"
    assert any(r > stop for r in reloads), "and forgets the old ones after they stop"


def test_failed_health_check_rolls_back_to_the_previous_release_and_releases_the_lock(world):
    world.commit("v1")
    assert world.deploy().returncode == 0
    good = world.commit("v2")
    assert world.deploy().returncode == 0
    good_web = {c["id"] for c in _web(world)}
    bad = world.commit("v3 that does not boot")
    world.mark_unhealthy(bad)

    result = world.deploy()

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"health check failed for {bad}" in output
    assert f"rolled back to {good}" in output
    assert world.state("current") == good
    assert world.server_head() == good, "the checkout matches the running release again"
    assert {c["id"] for c in _web(world)} == good_web, "the old replicas never stopped serving"
    assert all(c["tag"] == good for c in world.containers() if c["tag"] != "-")
    releases = (world.server / ".deploy" / "releases.log").read_text().splitlines()
    assert [line.split()[1:4] for line in releases[-2:]] == [
        ["deploy", bad, "failed"],
        ["rollback", good, "ok"],
    ]
    log = _deploy_log_lines(world)
    assert "lock released" in log[-2] and "deploy FAILED" in log[-1]

    # the lock was released: the next deploy takes it and the fixed release goes out
    world.mark_unhealthy(None)
    fixed = world.commit("v4 fixed")
    again = world.deploy()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "lock acquired" in again.stdout
    assert world.state("current") == fixed and world.state("previous") == good


def test_failed_first_deploy_has_nothing_to_roll_back_to_and_says_so(world):
    first = world.commit("broken from the start")
    world.mark_unhealthy(first)

    result = world.deploy()

    assert result.returncode != 0
    assert "no previous release to roll back to" in result.stdout
    assert world.state("current") == ""
    assert _web(world) == []


def test_a_deploy_while_another_holds_the_lock_fails_clearly_and_touches_nothing(world):
    world.commit("v1")
    assert world.deploy().returncode == 0
    world.commit("v2")
    lock_path = world.server / ".deploy" / "lock"
    calls_before = len(world.calls())
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        (world.server / ".deploy" / "lock.holder").write_text("deploy by alice pid 4242\n")
        result = world.deploy(DEPLOY_LOCK_TIMEOUT="1")

    assert result.returncode != 0
    assert "another deploy holds the lock" in result.stdout + result.stderr
    assert "deploy by alice pid 4242" in result.stdout + result.stderr
    assert world.calls()[calls_before:] == [], "no docker command ran"
    assert world.server_head() == world.commits[0]


def test_rollback_returns_to_the_previous_release(world):
    first = world.commit("v1")
    assert world.deploy().returncode == 0
    second = world.commit("v2")
    assert world.deploy().returncode == 0

    result = world.deploy("rollback")

    assert result.returncode == 0, result.stdout + result.stderr
    assert world.state("current") == first
    assert world.state("previous") == second
    assert world.server_head() == first
    assert {c["tag"] for c in _web(world)} == {first}
    releases = (world.server / ".deploy" / "releases.log").read_text().splitlines()
    assert releases[-1].split()[1:4] == ["rollback", first, "ok"]


def test_old_images_are_pruned_keeping_the_last_releases(world):
    shas = []
    for number in range(4):
        shas.append(world.commit(f"release {number}"))
        assert world.deploy(DEPLOY_KEEP_IMAGES="3").returncode == 0

    assert sorted(world.images()) == sorted(shas[1:])


def test_pruning_leaves_admin2_images_this_install_never_deployed(world):
    """Another install's release (or one loaded by hand) on the same engine is not ours."""
    foreign = "f" * 40
    for number in range(4):
        world.commit(f"release {number}")
        assert world.deploy(DEPLOY_KEEP_IMAGES="3").returncode == 0
        if number == 0:  # the stand-in engine exists now: load the other install's image
            state_file = world.standin_state / "state.json"
            state = json.loads(state_file.read_text())
            state["images"].append(foreign)
            state_file.write_text(json.dumps(state))

    assert foreign in world.images()
    assert len(world.images()) == 4


def test_a_commit_that_was_not_pushed_is_refused_and_the_lock_released(world):
    pushed = world.commit("pushed")
    assert world.deploy().returncode == 0
    world.commit("local only", push=False)

    result = world.deploy()

    assert result.returncode != 0
    assert "push it first" in result.stdout
    assert world.state("current") == pushed and world.server_head() == pushed
    assert "lock released" in _deploy_log_lines(world)[-2]


def test_a_failed_migration_keeps_the_running_release(world):
    good = world.commit("v1")
    assert world.deploy().returncode == 0
    web = {c["id"] for c in _web(world)}
    bad = world.commit("v2 with a broken migration")
    (world.standin_state / "fail-migrate").write_text("")

    result = world.deploy()

    assert result.returncode != 0
    assert world.state("current") == good
    assert world.server_head() == good, "the checkout is put back"
    assert {c["id"] for c in _web(world)} == web
    releases = (world.server / ".deploy" / "releases.log").read_text().splitlines()
    assert releases[-1].split()[1:4] == ["deploy", bad, "failed"]


def test_uncommitted_changes_are_refused_unless_forced(world):
    world.commit("v1")
    (world.laptop / "release.txt").write_text("edited but not committed\n")

    refused = world.deploy()
    assert refused.returncode != 0
    assert "uncommitted changes" in refused.stderr
    assert world.calls() == [] and world.state("current") == ""

    forced = world.deploy("deploy", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "NOT deployed" in forced.stderr
    assert world.state("current") == git(world.laptop, "rev-parse", "HEAD")


@pytest.mark.parametrize("missing", ["DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_PATH"])
def test_missing_settings_are_named_before_anything_connects(world, missing):
    env = world.env()
    del env[missing]
    logins_before = world.sshd.log().count("Accepted publickey")

    result = subprocess.run(
        [str(REPO / "deploy" / "deploy.sh"), "deploy"],
        cwd=world.laptop,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr
    assert "deploy/.env" in result.stderr
    assert world.sshd.log().count("Accepted publickey") == logins_before
    assert world.calls() == []


def test_settings_come_from_the_env_file_and_the_environment_wins(world, tmp_path):
    world.commit("v1")
    env_file = tmp_path / "deploy.env"
    env_file.write_text(
        f'# comment\nDEPLOY_PATH="{world.server}"\nDEPLOY_HOST=admin2.example.com\n'
    )
    env = world.env(DEPLOY_ENV_FILE=str(env_file))
    del env["DEPLOY_PATH"]

    result = subprocess.run(
        [str(REPO / "deploy" / "deploy.sh"), "status"],
        cwd=world.laptop,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # DEPLOY_HOST from the environment (127.0.0.1) beat the file; DEPLOY_PATH came from it
    assert result.returncode == 0, result.stdout + result.stderr
    assert "current:" in result.stdout


def test_option_injection_through_the_host_is_refused(world):
    result = world.deploy(DEPLOY_HOST="-oProxyCommand=touch /tmp/owned")
    assert result.returncode != 0
    assert "DEPLOY_HOST is not a host name" in result.stderr


def test_a_release_that_fails_behind_nginx_after_the_switch_is_switched_back(world):
    good = world.commit("v1")
    assert world.deploy().returncode == 0
    bad = world.commit("v2 healthy in its container, broken behind the proxy")
    (world.standin_state / "broken-behind-nginx").write_text(bad)

    result = world.deploy(DEPLOY_HEALTH_TIMEOUT="3")

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "answered 502 through Nginx, not 200" in output
    assert f"rolled back to {good}" in output
    assert world.state("current") == good and world.server_head() == good
    web = _web(world)
    assert len(web) == 2 and {c["tag"] for c in web} == {good}, "web switched back"
    workers = [c for c in world.containers() if c["service"] in ("celery", "celery-beat")]
    assert {c["tag"] for c in workers} == {good}, "workers switched back"


def test_a_redirect_is_not_health(world, nginx_with_tls):
    redirect_port, _ = nginx_with_tls
    world.set_server_env(PORT_NGINX=str(redirect_port), NGINX_TLS="off")
    world.commit("v1")

    result = world.deploy(DEPLOY_HEALTH_TIMEOUT="3")

    assert result.returncode != 0
    assert "answered 308 through Nginx, not 200" in result.stdout
    assert "no previous release to roll back to" in result.stdout


def test_with_tls_on_the_site_is_checked_over_https(world, nginx_with_tls):
    redirect_port, https_port = nginx_with_tls
    world.set_server_env(
        PORT_NGINX=str(redirect_port), NGINX_TLS="on", NGINX_TLS_PORT=str(https_port)
    )
    first = world.commit("v1")

    result = world.deploy()

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Nginx answers /healthz and /readyz at https://admin2.example.com:{https_port}" in (
        result.stdout
    )
    assert world.state("current") == first


def test_without_a_registry_the_server_is_not_asked_to_build(world):
    world.commit("v1")
    calls_before = len(world.calls())

    result = world.deploy(DEPLOY_BUILD_ON_SERVER="no")

    assert result.returncode != 0
    assert "ADMIN2_REGISTRY is not set" in result.stderr
    assert "never builds" in result.stderr
    assert world.calls()[calls_before:] == [], "nothing ran on the server"
    assert world.state("current") == ""


@pytest.mark.parametrize("digest", ["sha256:abc", "latest", "sha256:" + "G" * 64])
def test_a_malformed_digest_is_refused_on_the_laptop(world, digest):
    world.commit("v1")

    result = world.deploy(ADMIN2_REGISTRY="127.0.0.1:9/e2e", DEPLOY_IMAGE_DIGEST=digest)

    assert result.returncode != 0
    assert f"not an image digest: {digest}" in result.stderr
    assert world.calls() == []


def test_a_registry_that_does_not_answer_is_named(world):
    world.commit("v1")

    # port 9 (discard) on loopback: nothing listens
    result = world.deploy(ADMIN2_REGISTRY="127.0.0.1:9/e2e")

    assert result.returncode != 0
    assert "http://127.0.0.1:9/v2/e2e/admin2/manifests/" in result.stderr
    assert "is not in the registry: run 'just release'" in result.stderr
