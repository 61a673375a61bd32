"""Servers that misbehave below the HTTP level, for the hostile HTTP tests.

``http.server`` always answers whole; these answer as a hostile network would: a status
line or body that trickles in, a body that never ends.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Script = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A TCP server: reads each request's head and body, then runs ``script(conn)``.

    For answers ``http.server`` cannot give: a status line or body that trickles in, or a
    body with no end.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.seen = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head)
            self.seen.set()
            try:
                self.script(conn, self.stop)
            except OSError:
                pass  # the client gave up: what these tests want

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def drip_body(every: float) -> Callable[[socket.socket, threading.Event], None]:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n")
        while not stop.wait(every):
            conn.sendall(b" ")
    return script


def drip_head(every: float) -> Callable[[socket.socket, threading.Event], None]:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not stop.wait(every):
            conn.sendall(b"a")
    return script


def endless_body(conn: socket.socket, stop: threading.Event) -> None:
    """A body without Content-Length that never ends (closed-delimited)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    block = b"[" + b"0," * 32768
    while not stop.is_set():
        conn.sendall(block)
