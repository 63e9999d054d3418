"""scripts/audit-dependencies end to end: the real script, uv.lock and the real pip-audit.

The one stand-in is the vulnerability service (ADMIN2_AUDIT_OSV_URL): osv.dev cannot be
reached from these machines, so a threaded HTTP server on loopback answers pip-audit's
POST /v1/query from an advisory table the test fills, and records every query.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from packaging.markers import Marker
from packaging.version import Version

from harness.processes import REPO, free_port

SCRIPT = REPO / "scripts" / "audit-dependencies"
ADVISORY_ID = "PYSEC-2099-17"
ADVISORY_ALIAS = "CVE-2099-1717"


def locked_runtime_packages() -> dict[str, str]:
    """Name -> locked version of every package the workspace needs at run time here: uv.lock
    walked from the workspace members, dev groups left out, markers evaluated for this Python."""
    packages = tomllib.loads((REPO / "uv.lock").read_text())["package"]

    def locked(dep: dict) -> dict:
        [package] = [
            p
            for p in packages
            if p["name"] == dep["name"] and dep.get("version", p.get("version")) == p.get("version")
        ]
        return package

    def is_member(package: dict) -> bool:
        return bool({"editable", "virtual"} & package["source"].keys())

    found: dict[str, str] = {}
    seen: set[tuple] = set()
    todo = [(p, ()) for p in packages if is_member(p)]
    while todo:
        package, extras = todo.pop()
        if (package["name"], package.get("version"), extras) in seen:
            continue
        seen.add((package["name"], package.get("version"), extras))
        if not is_member(package):
            found[package["name"]] = package["version"]
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        for dep in deps:
            if "marker" in dep and not Marker(dep["marker"]).evaluate({"extra": ""}):
                continue
            todo.append((locked(dep), tuple(dep.get("extra", ()))))
    return found


LOCKED = locked_runtime_packages()


# The OSV v1 shape pip-audit parses: id, aliases, summary/details, the affected package with
# ECOSYSTEM ranges and fixed events, and the list of affected versions.
def advisory(package: str, affected_versions: list[str], fixed: str) -> dict:
    return {
        "schema_version": "1.6.0",
        "id": ADVISORY_ID if package == "django" else f"PYSEC-2099-{len(package)}",
        "aliases": [ADVISORY_ALIAS] if package == "django" else [],
        "published": "2099-01-02T03:04:05Z",
        "modified": "2099-01-03T03:04:05Z",
        "summary": f"{package}: crafted input reaches raw SQL (stand-in advisory)",
        "details": "Written for the audit test;\nno such advisory exists.",
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI", "purl": f"pkg:pypi/{package}"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
                "versions": affected_versions,
            }
        ],
    }


def next_patch(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor}.{v.micro + 1}"


class OsvStandIn:
    """POST /v1/query on 127.0.0.1 (a free port), answering like osv.dev: {} when nothing
    affects the package at that version, else {"vulns": [...]}."""

    def __init__(self, advisories: list[dict]):
        self.advisories = advisories
        self.queries: list[dict] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/query"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def matching(self, name: str, version: str) -> list[dict]:
        return [
            a
            for a in self.advisories
            for affected in a["affected"]
            if affected["package"]["name"] == name
            and affected["package"]["ecosystem"] == "PyPI"
            and version in affected["versions"]
        ]

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    query = json.loads(body)
                    name, ecosystem = query["package"]["name"], query["package"]["ecosystem"]
                    version = query["version"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"code": 3, "message": "malformed query"})
                if self.path != "/v1/query" or ecosystem != "PyPI":
                    return self._answer(404, {"code": 5, "message": "not found"})
                with stand_in._lock:
                    stand_in.queries.append(query)
                vulns = stand_in.matching(name, version)
                return self._answer(200, {"vulns": vulns} if vulns else {})

            def _answer(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def queried(self) -> set[tuple[str, str]]:
        with self._lock:
            return {(q["package"]["name"], q["version"]) for q in self.queries}

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def osv() -> Iterator:
    started: list[OsvStandIn] = []

    def start(*advisories: dict) -> OsvStandIn:
        started.append(OsvStandIn(list(advisories)))
        return started[-1]

    yield start
    for stand_in in started:
        stand_in.close()


def run_audit(**env: str) -> subprocess.CompletedProcess:
    # The GitHub workflow sets ADMIN2_REQUIRE_AUDIT for the whole suite; each test sets its own.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ADMIN2_")}
    environment.update({"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", **env})
    return subprocess.run(
        [str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=300, check=False
    )


AUDITED_ALL = f"{len(LOCKED)} of {len(LOCKED)} locked packages audited, no known vulnerabilities"


def test_the_lock_has_the_runtime_packages_we_expect():
    assert {"django", "celery", "clickhouse-connect", "psycopg-binary"} <= LOCKED.keys()
    assert not {"pytest", "pip-audit", "ruff"} & LOCKED.keys(), "dev tools are not runtime"


def test_clean_lock_audits_every_locked_runtime_package_at_its_locked_version(osv):
    service = osv()
    result = run_audit(ADMIN2_AUDIT_OSV_URL=service.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert AUDITED_ALL in result.stdout
    assert service.queried() == set(LOCKED.items())


def test_an_advisory_for_the_locked_django_fails_and_names_it(osv):
    django = LOCKED["django"]
    fixed = next_patch(django)
    service = osv(
        advisory("django", ["5.0", django], fixed),
        advisory("celery", ["1.0.0"], "1.0.1"),  # a version we do not lock: not a finding
    )
    result = run_audit(ADMIN2_AUDIT_OSV_URL=service.url)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["django", django, ADVISORY_ID, fixed] in rows, output
    assert (
        f"pip-audit: known vulnerabilities in 1 of {len(LOCKED)} locked packages" in result.stderr
    )
    assert "celery" not in result.stdout


@pytest.mark.parametrize("listed", [ADVISORY_ID, ADVISORY_ALIAS])
def test_an_advisory_accepted_with_its_reason_passes(osv, tmp_path, listed):
    ignore = tmp_path / "audit-ignore.txt"
    ignore.write_text(
        f"# accepted findings\n\n{listed}  only reachable through the admin, staff-only input\n"
    )
    service = osv(advisory("django", [LOCKED["django"]], next_patch(LOCKED["django"])))
    result = run_audit(ADMIN2_AUDIT_OSV_URL=service.url, ADMIN2_AUDIT_IGNORE_FILE=str(ignore))
    assert result.returncode == 0, result.stdout + result.stderr
    assert AUDITED_ALL in result.stdout


def test_an_accepted_finding_without_a_reason_is_refused_naming_the_line(osv, tmp_path):
    ignore = tmp_path / "audit-ignore.txt"
    ignore.write_text(f"# accepted findings\nGHSA-aaaa-bbbb-cccc  dev only\n{ADVISORY_ID}   \n")
    service = osv(advisory("django", [LOCKED["django"]], next_patch(LOCKED["django"])))
    result = run_audit(ADMIN2_AUDIT_OSV_URL=service.url, ADMIN2_AUDIT_IGNORE_FILE=str(ignore))
    assert result.returncode != 0
    [message] = result.stderr.splitlines()
    assert message.startswith(f"pip-audit: {ignore}:3: {ADVISORY_ID} has no reason"), message
    assert service.queries == [], "refused before auditing anything"


def test_a_named_ignore_file_that_does_not_exist_is_refused(tmp_path):
    result = run_audit(ADMIN2_AUDIT_IGNORE_FILE=str(tmp_path / "missing.txt"))
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"pip-audit: ADMIN2_AUDIT_IGNORE_FILE names no file: {tmp_path / 'missing.txt'}"
    )


@pytest.mark.parametrize(("require", "status"), [("", 0), ("1", 1)])
def test_an_unreachable_service_is_reported_as_not_audited(require, status):
    closed = f"http://127.0.0.1:{free_port()}/v1/query"  # nothing listens there
    result = run_audit(ADMIN2_AUDIT_OSV_URL=closed, ADMIN2_REQUIRE_AUDIT=require)
    assert result.returncode == status, result.stdout + result.stderr
    [message] = result.stderr.splitlines()
    assert message.startswith(f"pip-audit: NOT AUDITED: no answer from OSV at {closed}"), message
    assert f"0 of {len(LOCKED)} locked packages checked" in message
    assert ("ADMIN2_REQUIRE_AUDIT=1" in message) == (require == "1")
