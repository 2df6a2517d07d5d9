"""ASGI lifespan protocol: run the app's startup before serving and its shutdown after.

One task runs ``app({"type": "lifespan"}, receive, send)`` for the server's whole life.
With ``mode="auto"`` an app that raises on the lifespan scope simply does not support it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from typing import Any, Literal

from wirekit.server.asgi import ASGIApp

__all__ = ["LifespanError", "LifespanRunner"]

logger = logging.getLogger("wirekit.server")


class LifespanError(RuntimeError):
    """The app reported ``lifespan.startup.failed`` (or crashed) during startup or shutdown."""


class LifespanRunner:
    """Drives one app's lifespan scope. ``state`` is shared with every request scope."""

    def __init__(self, app: ASGIApp, *, mode: Literal["auto", "on", "off"] = "auto") -> None:
        self.app = app
        self.mode = mode
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._startup_done = asyncio.Event()
        self._shutdown_done = asyncio.Event()
        self._failure: str | None = None
        self._unsupported = False
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer; raise if it failed."""
        if self.mode == "off":
            return
        self._task = asyncio.get_running_loop().create_task(self._main())
        await self._inbox.put({"type": "lifespan.startup"})
        await self._startup_done.wait()
        if self._failure is not None:
            raise LifespanError(f"ASGI lifespan startup failed: {self._failure}")

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app to finish its clean-up."""
        if self._task is None or self._unsupported or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._shutdown_done.wait()
        if self._failure is not None:
            logger.error("ASGI lifespan shutdown failed: %s", self._failure)

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.state
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            if not self._startup_done.is_set() and self.mode == "auto":
                # The app does not speak lifespan (Django, many small apps): serve anyway.
                self._unsupported = True
                logger.info("ASGI app does not support lifespan (%s); continuing", exc)
            else:
                self._failure = f"{type(exc).__name__}: {exc}"
                logger.error("ASGI lifespan raised %s", self._failure, exc_info=exc)
        finally:
            self._startup_done.set()
            self._shutdown_done.set()

    async def _receive(self) -> MutableMapping[str, Any]:
        return await self._inbox.get()

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._startup_done.set()
        elif kind == "lifespan.startup.failed":
            self._failure = str(message.get("message", "") or "startup failed")
            self._startup_done.set()
        elif kind == "lifespan.shutdown.complete":
            self._shutdown_done.set()
        elif kind == "lifespan.shutdown.failed":
            self._failure = str(message.get("message", "") or "shutdown failed")
            self._shutdown_done.set()
        else:
            # Typically an app that ignores the scope type and answers as if it were http:
            # raising lets mode "auto" treat it as an app without lifespan support.
            raise RuntimeError(f"ASGI protocol error: unexpected lifespan message {kind!r}")
