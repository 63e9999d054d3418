"""HTTP client the swarm tests run inside the hub namespace (``python -m``), JSON out.

``login URL USER PASSWORD``: logs in through the admin form and opens the index.
``loop STOPFILE USER PASSWORD URL...``: admin pages and logins until STOPFILE exists.
``export URL USER PASSWORD PATH``: logs in and asks for a background CSV export (the form's
POST); ``download URL SESSIONID PATH FILE``: GETs PATH as that session, the body into FILE.
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
    ``stop`` exists; every failure counted (a status >= 500, a wrong page, no answer).

    The edges stand behind DNS or a load balancer (docs/scaling.md): a client that finds one
    edge refusing the connection tries the next, as browsers do with several addresses. No
    request reached the refusing edge, so that retry is safe for any request; it is counted
    apart (``refused_then_served``), and a failure on the next edge too is a failure."""
    total, failures, refused, slowest = 0, [], [], 0.0
    sessions: dict = {}
    while not stop.exists():
        base = bases[total % len(bases)]
        started = time.monotonic()
        ok, answer = _request(sessions, base, total, user, password, cafile)
        if answer.get("refused"):
            refused.append({"base": base, "at": time.strftime("%H:%M:%S")})
            base = bases[(total + 1) % len(bases)]
            ok, answer = _request(sessions, base, total, user, password, cafile)
        slowest = max(slowest, time.monotonic() - started)
        total += 1
        if not ok:
            failures.append({"base": base, "at": time.strftime("%H:%M:%S"), **answer})
        time.sleep(0.1)
    return {"total": total, "failed": len(failures), "failures": failures[:10],
            "refused_then_served": len(refused), "refusals": refused[:10],
            "slowest": round(slowest, 2)}  # fmt: skip


def _request(sessions: dict, base: str, count: int, user: str, password: str, cafile: str):
    try:
        if count % 10 == 0 or base not in sessions:
            answer = login(base, user, password, cafile)
            sessions[base] = answer.pop("session")
            return answer["ok"], answer
        page = sessions[base].get(f"{base}/admin/auth/user/", timeout=10)
        return page.status_code == 200 and "boss" in page.text, {"status": page.status_code}
    except requests.ConnectionError as error:
        refused = "Connection refused" in repr(error)
        return False, {"error": repr(error)[:300], "refused": refused}
    except requests.RequestException as error:
        return False, {"error": repr(error)[:300]}


def export(base: str, user: str, password: str, path: str, cafile: str) -> dict:
    answer = login(base, user, password, cafile)
    session = answer.pop("session")
    token = session.cookies.get("csrftoken", "")
    posted = session.post(
        f"{base}{path}", data={"format": "csv", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}{path}"}, timeout=30, allow_redirects=False,
    )  # fmt: skip
    return {"ok": answer["ok"] and posted.status_code == 302, "status": posted.status_code,
            "sessionid": session.cookies.get("sessionid")}  # fmt: skip


def download(base: str, sessionid: str, path: str, target: Path, cafile: str) -> dict:
    got = requests.get(f"{base}{path}", cookies={"sessionid": sessionid}, verify=cafile,
                       timeout=60)  # fmt: skip
    target.write_bytes(got.content)
    return {"status": got.status_code, "bytes": len(got.content),
            "content_type": got.headers.get("Content-Type")}  # fmt: skip


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
    asked = commands.add_parser("export")
    asked.add_argument("base")
    asked.add_argument("user")
    asked.add_argument("password")
    asked.add_argument("path")
    got = commands.add_parser("download")
    got.add_argument("base")
    got.add_argument("sessionid")
    got.add_argument("path")
    got.add_argument("target", type=Path)
    args = parser.parse_args()
    if args.command == "export":
        print(json.dumps(export(args.base, args.user, args.password, args.path, args.cafile)))
    elif args.command == "download":
        print(json.dumps(download(args.base, args.sessionid, args.path, args.target,
                                  args.cafile)))  # fmt: skip
    elif args.command == "login":
        answer = login(args.base, args.user, args.password, args.cafile)
        answer["sessionid"] = answer.pop("session").cookies.get("sessionid")
        print(json.dumps(answer))
    else:
        print(json.dumps(loop(args.bases, args.user, args.password, args.cafile, args.stop)))


if __name__ == "__main__":
    main()
