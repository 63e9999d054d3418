"""HTTP client the swarm tests run inside the hub namespace (``python -m``), JSON out.

``login URL USER PASSWORD``: logs in through the admin form and opens the index.
``loop STOPFILE USER PASSWORD URL...``: admin pages and logins until STOPFILE exists.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import time
from pathlib import Path

import requests


def login(base: str, user: str, password: str, cafile: str) -> dict:
    session = requests.Session()
    # Per request: a session's `verify` loses to REQUESTS_CA_BUNDLE in the environment.
    session.request = functools.partial(session.request, verify=cafile)
    form = session.get(f"{base}/admin/login/", timeout=20)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        return {"ok": False, "status": form.status_code, "body": form.text[:300],
                "session": session}  # fmt: skip
    posted = session.post(
        f"{base}/admin/login/", timeout=20, allow_redirects=True,
        data={"username": user, "password": password, "csrfmiddlewaretoken": token[1],
              "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"},
    )  # fmt: skip
    index = session.get(f"{base}/admin/", timeout=20)
    return {"ok": index.status_code == 200 and "logout" in index.text.lower(),
            "status": index.status_code, "login_status": posted.status_code,
            "url": index.url, "session": session}  # fmt: skip


def loop(bases: list[str], user: str, password: str, cafile: str, stop: Path) -> dict:
    """Admin pages through every edge in turn, a fresh login every tenth request, until
    ``stop`` exists; every failure counted (a status >= 500, a wrong page, no answer)."""
    total, failures, slowest = 0, [], 0.0
    sessions = {}
    while not stop.exists():
        base = bases[total % len(bases)]
        started = time.monotonic()
        try:
            if total % 10 == 0 or base not in sessions:
                answer = login(base, user, password, cafile)
                sessions[base] = answer.pop("session")
                ok = answer["ok"]
            else:
                page = sessions[base].get(f"{base}/admin/auth/user/", timeout=10)
                ok = page.status_code == 200 and "boss" in page.text
                answer = {"status": page.status_code}
        except requests.RequestException as error:
            ok, answer = False, {"error": repr(error)[:300]}
        slowest = max(slowest, time.monotonic() - started)
        total += 1
        if not ok:
            failures.append({"base": base, **answer})
        time.sleep(0.1)
    return {"total": total, "failed": len(failures), "failures": failures[:10],
            "slowest": round(slowest, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cafile", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("login")
    one.add_argument("base")
    one.add_argument("user")
    one.add_argument("password")
    many = commands.add_parser("loop")
    many.add_argument("stop", type=Path)
    many.add_argument("user")
    many.add_argument("password")
    many.add_argument("bases", nargs="+")
    args = parser.parse_args()
    if args.command == "login":
        answer = login(args.base, args.user, args.password, args.cafile)
        answer["sessionid"] = answer.pop("session").cookies.get("sessionid")
        print(json.dumps(answer))
    else:
        print(json.dumps(loop(args.bases, args.user, args.password, args.cafile, args.stop)))


if __name__ == "__main__":
    main()
