"""A TCP proxy that can cut the network: ``cut()`` drops every connection and refuses new
ones (like a dead link), ``restore()`` lets them through again."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from tests.helpers import free_port

BUFFER = 65536


class CuttableProxy:
    """127.0.0.1:<port> -> target, one thread with a selector."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener.setblocking(False)
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self.connections = 0
        self.refuse_mqtt5 = False  # answer an MQTT 5 CONNECT like a 3.1.1-only broker
        self.refused_v5 = 0
        self._clients: set[socket.socket] = set()

    def start(self) -> CuttableProxy:
        self._thread.start()
        return self

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            socks = list(self._pairs)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._thread.join(5)
        self._listener.close()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in sel.select(0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept(sel)
                    continue
                self._forward(sel, sock)
            if self._cut.is_set():
                with self._lock:
                    dead = list(self._pairs)
                for s in dead:
                    self._drop(sel, s)
        for s in list(self._pairs):
            self._drop(sel, s)
        sel.close()

    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._cut.is_set():
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), 2)
        except OSError:
            client.close()
            return
        for s in (client, upstream):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._pairs[client] = upstream
            self._pairs[upstream] = client
        self._clients.add(client)
        sel.register(client, selectors.EVENT_READ)
        sel.register(upstream, selectors.EVENT_READ)
        self.connections += 1

    def _forward(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        peer = self._pairs.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or self._cut.is_set():
            self._drop(sel, sock)
            return
        if self.refuse_mqtt5 and sock in self._clients and connect_level(data) == 5:
            self.refused_v5 += 1
            with contextlib.suppress(OSError):
                sock.sendall(b"\x20\x02\x00\x01")  # 3.1.1 CONNACK: unacceptable protocol version
            self._drop(sel, sock)
            return
        try:
            peer.setblocking(True)
            peer.sendall(data)
            peer.setblocking(False)
        except OSError:
            self._drop(sel, sock)

    def _drop(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        self._clients.discard(sock)
        with self._lock:
            peer = self._pairs.pop(sock, None)
            if peer is not None:
                self._pairs.pop(peer, None)
        for s in (sock, peer):
            if s is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(s)
            with contextlib.suppress(OSError):
                s.close()


def connect_level(data: bytes) -> int | None:
    """The protocol level of an MQTT CONNECT packet at the start of ``data``, else None."""
    if len(data) < 2 or data[0] != 0x10:
        return None
    i = 1
    while i < len(data) and data[i] & 0x80:  # remaining-length varint
        i += 1
    i += 1
    if i + 2 > len(data):
        return None
    name_len = int.from_bytes(data[i : i + 2], "big")
    level_at = i + 2 + name_len
    return data[level_at] if level_at < len(data) else None
