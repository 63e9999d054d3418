"""Every service is hardened, read from the Compose files as Compose resolves them.

``no-new-privileges``, ``cap_drop: [ALL]`` with only the allow-listed capabilities added back,
a read-only root file system wherever the service allows it, tmpfs for scratch (issue 12,
finding 9). The allow-list and its reasons: docs/containers.md, "Hardening".
"""

from __future__ import annotations

import pytest

from harness import compose

# Capabilities each service may add back; why each one: docs/containers.md, "Hardening".
ALLOWED_CAPS = {
    "migrate": set(),
    "web": set(),
    "celery": set(),
    "celery-beat": set(),
    "redis": {"CHOWN", "DAC_READ_SEARCH", "SETUID", "SETGID"},
    "db": {"CHOWN", "DAC_READ_SEARCH", "FOWNER", "SETUID", "SETGID"},
    "nginx": {"CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"},
    "clickhouse": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "IPC_LOCK", "SYS_NICE"},
}
# Root file system writable, and why: staging's application image is the development image
# (the devcontainer's `uv sync` writes its venv); ClickHouse is not run by the suite.
WRITABLE_ROOT = {
    "staging": {"migrate", "web", "celery", "celery-beat", "clickhouse"},
    "production": set(),
}


@pytest.fixture(scope="module", params=compose.STACKS)
def stack(request):
    return request.param, compose.resolved(request.param)["services"]


def test_every_service_has_no_new_privileges_and_drops_every_capability(stack):
    name, services = stack
    for service, config in services.items():
        assert "no-new-privileges:true" in (config.get("security_opt") or []), (name, service)
        assert config.get("cap_drop") == ["ALL"], (name, service)


def test_capabilities_added_back_are_on_the_documented_allow_list(stack):
    name, services = stack
    for service, config in services.items():
        assert service in ALLOWED_CAPS, f"{name}: {service} has no documented allow-list"
        added = set(config.get("cap_add") or [])
        if name == "staging" and service == "web":
            added -= {"SYS_PTRACE"}  # never in the stack itself; the devcontainer adds it
        assert added <= ALLOWED_CAPS[service], (name, service, added - ALLOWED_CAPS[service])


def test_root_file_systems_are_read_only_except_where_documented_with_tmpfs_scratch(stack):
    name, services = stack
    for service, config in services.items():
        if service in WRITABLE_ROOT[name]:
            continue
        assert config.get("read_only") is True, (name, service)
        assert "/tmp" in (config.get("tmpfs") or []), (name, service)
