"""Debian's nginx, run natively for tests: render templates, check a configuration, serve.

:func:`render_templates` does what the official nginx image does at start; :class:`Nginx`
runs a foreground master with its pid file, logs and temp paths under a work directory,
checks the configuration with ``nginx -t`` and serves on loopback until :meth:`Nginx.stop`.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.processes import ManagedProcess, port_open, require_binary, wait_until

_TOP_LEVEL = re.compile(r"^(user|pid|daemon|error_log|master_process)\s[^;]*;[^\n]*\n?", re.M)


def envsubst(text: str, env: Mapping[str, str], name_filter: str | None = None) -> str:
    """Substitute ``${NAME}``/``$NAME`` for the names in ``env`` (matching ``name_filter``)."""
    binary = require_binary("envsubst", "apt-get install gettext-base")
    # As the image's 20-envsubst-on-templates.sh: only the defined names are listed, so
    # $nginx_variables stay untouched.
    names = sorted(n for n in env if name_filter is None or re.search(name_filter, n))
    shell_format = " ".join(f"${{{name}}}" for name in names)
    result = subprocess.run(
        [binary, shell_format],
        input=text,
        env={name: env[name] for name in names},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"envsubst failed: {result.stderr}")
    return result.stdout


def render_templates(
    template_dir: Path,
    output_dir: Path,
    env: Mapping[str, str],
    *,
    name_filter: str | None = None,
    suffix: str = ".template",
) -> list[Path]:
    """Render every ``*.template`` under ``template_dir`` (recursively) into ``output_dir``."""
    rendered = []
    for template in sorted(template_dir.rglob(f"*{suffix}")):
        relative = template.relative_to(template_dir)
        target = output_dir / str(relative)[: -len(suffix)]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(envsubst(template.read_text(), env, name_filter))
        rendered.append(target)
    return rendered


def native_main_config(text: str, workdir: Path, *, user: str = "nobody nogroup") -> str:
    """Adapt a container's main nginx.conf to a native run from ``workdir``.

    Drops the top-level ``user``/``pid``/``daemon``/``error_log`` lines, puts them back pointing
    under ``workdir`` (foreground master, workers as ``user``), and keeps every temp path there.
    """
    body = _TOP_LEVEL.sub("", text)
    header = (
        "daemon off;\n"
        "master_process on;\n"
        f"user {user};\n"
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} info;\n"
    )
    temp = "".join(
        f"    {kind}_temp_path {workdir / 'temp' / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    if body.count("http {") != 1:
        pytest.fail("the nginx configuration must have exactly one `http {` block")
    return header + body.replace("http {", "http {\n" + temp, 1)


class Nginx:
    """A native nginx master for one configuration, in its own process group."""

    def __init__(self, workdir: Path, main_config: str, *, user: str = "nobody nogroup"):
        self.binary = require_binary("nginx", "apt-get install nginx")
        self.workdir = workdir
        (workdir / "temp").mkdir(parents=True, exist_ok=True)
        self.config = workdir / "nginx.conf"
        self.config.write_text(native_main_config(main_config, workdir, user=user))
        self.error_log = workdir / "error.log"
        self.process: ManagedProcess | None = None

    def test(self) -> subprocess.CompletedProcess:
        """``nginx -t``: parse and check the whole configuration (files, certificates)."""
        return subprocess.run(
            [self.binary, "-t", "-q", "-p", str(self.workdir), "-c", str(self.config),
             "-e", str(self.error_log)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def start(self, *ports: int) -> None:
        checked = self.test()
        if checked.returncode != 0:
            pytest.fail(f"nginx -t failed:\n{checked.stderr}")
        argv = [self.binary, "-p", str(self.workdir), "-c", str(self.config),
                "-e", str(self.error_log)]  # fmt: skip
        self.process = ManagedProcess(argv, log=self.workdir / "nginx.out")
        for port in ports:
            listening = lambda p=port: port_open(p) or not self.process.alive()  # noqa: E731
            wait_until(listening, 15, f"nginx on port {port}")
            if not self.process.alive():
                pytest.fail(f"nginx exited:\n{self.errors()}")

    def errors(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None
