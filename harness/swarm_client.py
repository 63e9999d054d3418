"""HTTP client the swarm tests run inside the hub namespace (``python -m``), JSON out.

``login URL USER PASSWORD``: logs in through the admin form and opens the index.
"""

from __future__ import annotations

import argparse
import functools
import json
import re

import requests


def login(base: str, user: str, password: str, cafile: str) -> dict:
    session = requests.Session()
    # Per request: a session's `verify` loses to REQUESTS_CA_BUNDLE in the environment.
    session.request = functools.partial(session.request, verify=cafile)
    form = session.get(f"{base}/admin/login/", timeout=20)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        return {"ok": False, "status": form.status_code, "body": form.text[:500]}
    posted = session.post(
        f"{base}/admin/login/", timeout=20, allow_redirects=True,
        data={"username": user, "password": password, "csrfmiddlewaretoken": token[1],
              "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"},
    )  # fmt: skip
    index = session.get(f"{base}/admin/", timeout=20)
    return {"ok": index.status_code == 200 and "logout" in index.text.lower(),
            "status": index.status_code, "login_status": posted.status_code,
            "url": index.url}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cafile", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("login")
    one.add_argument("base")
    one.add_argument("user")
    one.add_argument("password")
    args = parser.parse_args()
    if args.command == "login":
        print(json.dumps(login(args.base, args.user, args.password, args.cafile)))


if __name__ == "__main__":
    main()
