"""wrk as the load tool: run it, parse requests/s and latency percentiles."""

from __future__ import annotations

import re
import shutil
import subprocess

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(
    url: str, *, seconds=10, connections=16, threads=2, headers=(), timeout_s=10, prefix=()
) -> dict:
    """``prefix``: argv wrk runs under (e.g. ``nsenter --net=…`` for another namespace)."""
    binary = shutil.which("wrk")
    if not binary:
        raise SystemExit("wrk is not installed: apt-get install wrk (scripts/ensure-system-deps)")
    argv = [*prefix, binary, "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    argv.append(f"--timeout={timeout_s}s")
    for header in headers:
        argv += ["-H", header]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    if not percentiles:
        raise SystemExit(f"wrk measured nothing for {url}:\n{out}")
    return {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1),
        "p50_ms": round(_ms(percentiles["50"]), 2),
        "p99_ms": round(_ms(percentiles["99"]), 2),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }
