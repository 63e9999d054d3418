"""The server engine: a ClickHouse server over HTTP(S) through clickhouse-connect.

One client per process and configuration, shared by threads: clickhouse-connect's HTTP
client pools connections and carries no session state as long as no session id is used,
so per-query settings (limits, ``readonly``, ``log_comment``) travel with each request.
"""

from __future__ import annotations

import logging
import threading

import clickhouse_connect

from admin2_analytics.engine.config import ServerConfig

logger = logging.getLogger(__name__)

_clients: dict[ServerConfig, object] = {}
_clients_lock = threading.Lock()


def client_options(config: ServerConfig) -> dict:
    """Keyword arguments for ``clickhouse_connect.get_client`` (kept separate for tests)."""
    options = {
        "host": config.host,
        "port": config.port,
        "username": config.user,
        "password": config.password,
        "database": config.database,
        "secure": config.secure,
        "verify": config.verify,
        "connect_timeout": config.connect_timeout,
        "send_receive_timeout": config.read_timeout,
        # Sessions serialise queries server-side and fail concurrent ones: none needed.
        "autogenerate_session_id": False,
        "query_limit": 0,
        "show_clickhouse_errors": True,
    }
    if config.secure and config.verify and config.ca_cert:
        options["ca_cert"] = config.ca_cert
    return options


def get_client(config: ServerConfig):
    with _clients_lock:
        client = _clients.get(config)
    if client is not None:
        return client
    # Connecting runs a handshake (version, settings): outside the lock, so one slow server
    # does not block threads asking for another configuration.
    client = clickhouse_connect.get_client(**client_options(config))
    with _clients_lock:
        existing = _clients.setdefault(config, client)
    if existing is not client:
        client.close()
    return existing


def forget_client(config: ServerConfig) -> None:
    """Drop a cached client (after a connection failure) so the next call reconnects."""
    with _clients_lock:
        client = _clients.pop(config, None)
    if client is not None:
        try:
            client.close()
        except Exception:  # closing a broken client must not hide the original error
            logger.debug("closing a failed ClickHouse client", exc_info=True)


def changeable(client, settings: dict) -> dict:
    """The settings the server lets this user change; the server's profile governs the rest.

    A user whose profile says ``readonly = 1`` may change no setting at all: its profile
    must then carry the limits itself (docs/clickhouse.md recommends ``readonly = 2`` with
    constraints instead, so admin2 can also tag queries and tighten limits).
    """
    server = getattr(client, "server_settings", {}) or {}
    kept = {}
    for name, value in settings.items():
        definition = server.get(name)
        if definition is not None and definition.readonly and str(value) != definition.value:
            logger.warning(
                "ClickHouse user may not change %s (server value %s); the profile governs it",
                name,
                definition.value,
            )
            continue
        kept[name] = value
    return kept
