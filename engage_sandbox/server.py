"""Running the sandbox: on a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from .app import create_app
from .config import SandboxConfig
from .seed import seed
from .store import SandboxStore

#: How long a stopping server waits for in-flight requests (e.g. a held "timeout" fault).
GRACEFUL_SHUTDOWN_SECONDS = 2


def _bind(host: str, port: int) -> socket.socket:
    # Binding ourselves (instead of letting uvicorn do it) is what makes port 0 usable: the
    # chosen port is known before the server thread starts. proto must be IPPROTO_TCP:
    # asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and without it
    # Nagle + delayed ACK add ~40 ms to every small response (headers and body are 2 writes).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def prepare_store(config: SandboxConfig, store: SandboxStore | None = None) -> SandboxStore:
    """The given store, or a new one at config.db_path; seeded when configured and empty."""
    store = store if store is not None else SandboxStore(config.db_path)
    if config.seed is not None and not store.accounts():
        seed(store, seed=config.seed, leads=config.leads)
    return store


def _uvicorn_config(app: FastAPI, config: SandboxConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=config.log_level,
        lifespan="off",
        access_log=False,
        # the fault layer needs uvicorn's own send (see faults.py); never add a wrapper
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


class SandboxServer:
    """A sandbox on a background thread: ``with SandboxServer(cfg) as sb: sb.base_url``."""

    def __init__(
        self, config: SandboxConfig | None = None, store: SandboxStore | None = None
    ) -> None:
        self.config = config if config is not None else SandboxConfig()
        self._owns_store = store is None
        self.store = prepare_store(self.config, store)
        self.app = create_app(self.config, self.store)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the sandbox server is not started")
        return self._base_url

    def start(self, timeout: float = 10.0) -> SandboxServer:
        if self._thread is not None:
            return self
        self._sock = _bind(self.config.host, self.config.port)
        self._base_url = _base_url(self._sock)
        server = uvicorn.Server(_uvicorn_config(self.app, self.config))
        self._server = server
        sock = self._sock
        thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="engage-sandbox", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("the sandbox server failed to start")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the sandbox server did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._thread = None
        self._server = None
        if self._owns_store:
            self.store.close()
            self._owns_store = False

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: SandboxConfig,
    store: SandboxStore | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C / SIGTERM are handled by uvicorn).

    ``on_ready(base_url)`` is called once the port is bound, before serving starts, so a
    CLI can print the URL even when port 0 picked it; connections made in between wait in
    the listen backlog.
    """
    owns = store is None
    store = prepare_store(config, store)
    sock = _bind(config.host, config.port)
    try:
        server = uvicorn.Server(_uvicorn_config(create_app(config, store), config))
        if on_ready is not None:
            on_ready(_base_url(sock))
        server.run(sockets=[sock])
    finally:
        sock.close()
        if owns:
            store.close()
