"""The hop from the event loop to the resolver pool and back (docs/node.md, "Where the time
goes"), lighter than ``loop.run_in_executor`` + ``asyncio.wait_for``.

``run_in_executor`` chains a ``concurrent.futures.Future`` to an asyncio one (two callbacks, a
state copy), and its completion is a ``call_soon_threadsafe`` from the pool thread, whose
wake-up write (uvloop: ``uv_async_send``) runs with the GIL held; ``wait_for`` adds a waiter
future, a done callback and a timer. Here a pool thread puts its result on a queue and wakes the
loop once per batch with ``os.eventfd_write`` (a syscall made without the GIL), the loop sets
the asyncio futures directly, and the deadline of every call is one timer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import os
from concurrent.futures import Executor
from typing import Any


class Handoff:
    """Calls run on ``pool`` from the event loop ``loop`` (created on it); ``call`` waits for
    one, up to a deadline. :meth:`close` removes its reader from the loop."""

    def __init__(self, pool: Executor, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.loop = loop
        #: finished calls: (future, result, exception), appended by pool threads
        self.done: collections.deque[tuple[asyncio.Future[Any], Any, BaseException | None]] = (
            collections.deque()
        )
        #: a wake-up is on its way (a pool thread wrote the eventfd; the loop has not read it)
        self.woken = False
        self.rfd, self.wfd = _wakeup_fds()
        loop.add_reader(self.rfd, self._drain)

    async def call(self, timeout: float, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the pool, in a copy of the caller's context (the request ID in the
        pool's log lines); its result, or its exception; :class:`TimeoutError` after
        ``timeout`` seconds (the call itself goes on in the pool)."""
        fut = self.loop.create_future()
        self.pool.submit(self._run, fut, contextvars.copy_context(), fn, args)
        timer = self.loop.call_later(timeout, _expire, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    def _run(self, fut: asyncio.Future[Any], ctx: contextvars.Context, fn: Any, args: Any) -> None:
        try:
            item = (fut, ctx.run(fn, *args), None)
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting request
            item = (fut, None, e)
        self.done.append(item)
        if not self.woken:  # a race only costs a spare wake-up (see _drain)
            self.woken = True
            _wake(self.wfd)

    def _drain(self) -> None:
        """On the loop: the finished calls' results into their futures."""
        # the wake-up read first, then the flag, then the results: a result appended after
        # the flag is cleared writes again; one appended before it is popped below (clearing
        # the flag before the read could swallow a write made during the read)
        with contextlib.suppress(BlockingIOError, InterruptedError):
            os.read(self.rfd, 64)
        self.woken = False
        done = self.done
        while done:
            fut, res, exc = done.popleft()
            if fut.done():  # timed out (504 already sent)
                continue
            if exc is None:
                fut.set_result(res)
            else:
                fut.set_exception(exc)

    def close(self) -> None:
        """Stop listening for results (the loop is closing)."""
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.rfd)
        for fd in {self.rfd, self.wfd}:
            with contextlib.suppress(OSError):
                os.close(fd)


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


def _wakeup_fds() -> tuple[int, int]:
    """(read end, write end) of the wake-up channel: an eventfd where the OS has one, else a
    pipe; both non-blocking."""
    if hasattr(os, "eventfd"):
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        return fd, fd
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    return r, w


def _wake(fd: int) -> None:
    """One wake-up write; the GIL is released around it (``os.write`` and
    ``os.eventfd_write`` both do)."""
    with contextlib.suppress(BlockingIOError, OSError):
        os.write(fd, b"\x01\0\0\0\0\0\0\0")


__all__ = ["Handoff"]
