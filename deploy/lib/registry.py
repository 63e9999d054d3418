#!/usr/bin/env python3
"""Ask an OCI registry (the Distribution HTTP API) what a tag points at, or which tags exist.

registry.py digest REGISTRY/REPOSITORY:TAG   prints the manifest digest (sha256:...)
registry.py tags REGISTRY/REPOSITORY         prints the repository's tags, one a line
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode

# Multi-platform indexes first: their digest is what `docker pull NAME@DIGEST` takes anywhere.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")
TIMEOUT = 30


class RegistryError(Exception):
    pass


def split_reference(reference: str) -> tuple[str, str, str | None]:
    """(host, repository, tag) as Docker reads a name: no host part means Docker Hub."""
    if "@" in reference:
        raise RegistryError(f"{reference}: give a tag, not a digest")
    name, tag = reference, None
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, rest
    else:
        host, repository = "docker.io", name
    if host == "docker.io":
        host = "registry-1.docker.io"
        if "/" not in repository:
            repository = f"library/{repository}"
    if not re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", repository):
        raise RegistryError(f"{reference}: not a repository name")
    return host, repository, tag


def _base(host: str) -> str:
    # Docker itself talks plain HTTP to a registry on loopback; everything else is HTTPS.
    scheme = "http" if LOOPBACK.match(host) else "https"
    return f"{scheme}://{host}/v2/"


def _credentials() -> dict[str, str]:
    user = os.environ.get("ADMIN2_REGISTRY_USER")
    password = os.environ.get("ADMIN2_REGISTRY_PASSWORD")
    if user and password:
        token = b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def _bearer(challenge: str) -> dict[str, str]:
    """A token from the realm a 401 names (anonymous, or with the registry credentials)."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if not challenge.lower().startswith("bearer") or "realm" not in fields:
        return _credentials()
    if not fields["realm"].startswith(("https://", "http://")):
        raise RegistryError(f"the registry's token realm is not an HTTP URL: {fields['realm']}")
    query = urllib.parse.urlencode({k: v for k, v in fields.items() if k in ("service", "scope")})
    url = f"{fields['realm']}?{query}"
    request = urllib.request.Request(url, headers=_credentials())  # noqa: S310 (checked above)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        body = json.load(response)
    return {"Authorization": f"Bearer {body.get('token') or body.get('access_token')}"}


def _open(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    headers = dict(headers or {})
    for attempt in (1, 2):
        # url is always _base(): http(s) only
        request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310
        except urllib.error.HTTPError as error:
            if error.code == 401 and attempt == 1:
                headers.update(_bearer(error.headers.get("WWW-Authenticate", "")))
                continue
            raise RegistryError(f"{method} {url}: HTTP {error.code} {error.reason}") from None
        except OSError as error:
            raise RegistryError(f"{method} {url}: {error}") from None
    raise AssertionError("unreachable")


def digest(reference: str) -> str:
    host, repository, tag = split_reference(reference)
    if not tag:
        raise RegistryError(f"{reference}: no tag")
    url = f"{_base(host)}{repository}/manifests/{tag}"
    with _open(url, "GET", {"Accept": MANIFEST_TYPES}) as response:
        found = response.headers.get("Docker-Content-Digest")
        body = response.read()
    return found or "sha256:" + hashlib.sha256(body).hexdigest()


def tags(reference: str) -> list[str]:
    host, repository, _ = split_reference(reference)
    url, found = f"{_base(host)}{repository}/tags/list?n=1000", []
    while url:
        with _open(url) as response:
            found += json.load(response).get("tags") or []
            link = re.match(r"<([^>]+)>", response.headers.get("Link", ""))
        url = urllib.parse.urljoin(url, link[1]) if link else ""
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("digest", "tags"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        if argv[1] == "digest":
            print(digest(argv[2]))
        else:
            print("\n".join(tags(argv[2])))
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
