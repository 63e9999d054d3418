"""Links that reopen SQL and its parameters in the console (a GET: nothing runs until asked)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse


def console_link(sql: str, params: dict | str | None = None) -> str:
    """The console's URL holding ``sql`` and ``params`` (a dict, or ``name=value`` lines)."""
    if isinstance(params, dict):
        params = "\n".join(f"{name}={value}" for name, value in params.items())
    query = {"sql": sql}
    if params and params.strip():
        query["params"] = params
    return f"{reverse('analytics:console')}?{urlencode(query)}"
