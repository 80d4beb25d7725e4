"""The hop from the event loop to the resolver pool and back (docs/node.md, "Where the time
goes"), lighter than ``loop.run_in_executor`` + ``asyncio.wait_for``.

``run_in_executor`` chains a ``concurrent.futures.Future`` to an asyncio one (two callbacks, a
state copy in a callback of its own on the loop) and wakes the loop once per call;
``wait_for`` adds a waiter future, a done callback and a timer. Here a pool thread puts its
result on a queue and wakes the loop (``call_soon_threadsafe``) only when no wake-up is already
on its way; the loop then sets every finished call's asyncio future directly. One timer per call
is the deadline.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from concurrent.futures import Executor
from typing import Any


class Handoff:
    """Calls run on ``pool`` for the event loop ``loop``: :meth:`call` awaits one, up to a
    deadline."""

    def __init__(self, pool: Executor, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.loop = loop
        #: finished calls: (future, result, exception), appended by pool threads
        self.done: collections.deque[tuple[asyncio.Future[Any], Any, BaseException | None]] = (
            collections.deque()
        )
        #: a wake-up of the loop is on its way (:meth:`_drain` has not run since)
        self.woken = False

    async def call(self, timeout: float, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the pool, in a copy of the caller's context (the request ID in the
        pool's log lines): its result, or its exception; :class:`TimeoutError` after
        ``timeout`` seconds (the call itself goes on in the pool, its result is dropped)."""
        fut = self.loop.create_future()
        self.pool.submit(self._run, fut, contextvars.copy_context(), fn, args)
        timer = self.loop.call_later(timeout, _expire, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    def _run(self, fut: asyncio.Future[Any], ctx: contextvars.Context, fn: Any, args: Any) -> None:
        item: tuple[asyncio.Future[Any], Any, BaseException | None]
        try:
            item = (fut, ctx.run(fn, *args), None)
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting request
            item = (fut, None, e)
        self.done.append(item)  # before the flag is read: see _drain
        if not self.woken:  # two threads may both wake: a spare wake-up drains nothing
            self.woken = True
            try:
                self.loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed: nobody awaits the result any more
                pass

    def _drain(self) -> None:
        """On the loop: every finished call's result into its future. The flag is cleared
        before the queue is read, so a result appended after that read finds it cleared and
        wakes the loop again; one appended before it is popped here."""
        self.woken = False
        done = self.done
        while done:
            fut, res, exc = done.popleft()
            if fut.done():  # timed out (its 504 is sent) or the request was cancelled
                continue
            if exc is None:
                fut.set_result(res)
            else:
                fut.set_exception(exc)


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


__all__ = ["Handoff"]
