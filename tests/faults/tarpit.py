"""A TCP server that accepts connections and reads, but never answers: a hung ClickHouse."""

from __future__ import annotations

import socket
import threading


class Tarpit:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tarpit", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stopping.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            # Kept open and never read from or written to: the client waits for an answer.
            self._connections.append(connection)
            self.accepted += 1

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(2)
        for connection in self._connections:
            connection.close()
        self.sock.close()

    def __enter__(self) -> Tarpit:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
