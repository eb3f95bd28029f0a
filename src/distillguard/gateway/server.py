"""Running the gateway and the mock server under uvicorn."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from typing import Any

import uvicorn


def uvicorn_config(app: Any, host: str, port: int, *, log_level: str = "warning") -> uvicorn.Config:
    """uvloop and httptools when installed: the fastest event loop and HTTP parser."""
    fast = importlib.util.find_spec("uvloop") is not None
    parser = importlib.util.find_spec("httptools") is not None
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if fast else "asyncio",
        http="httptools" if parser else "h11",
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
    )


def serve(app: Any, host: str, port: int, *, log_level: str = "warning") -> None:
    uvicorn.Server(uvicorn_config(app, host, port, log_level=log_level)).run()


class BackgroundServer:
    """An ASGI app served by uvicorn in a thread, on a port of its own (tests,
    benchmarks, the live demo). Use as a context manager."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(uvicorn_config(app, host, self.port))
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
