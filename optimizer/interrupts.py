"""Ctrl-C and SIGTERM stop a run promptly and cleanly.

The command line turns SIGTERM into :class:`Terminated`, a kind of KeyboardInterrupt, so that one
path handles both: every step that made something removes it on the way out (see
:mod:`optimizer.outputs`), solves are cancelled (see :mod:`optimizer.solvers`), worker processes are
stopped (see :mod:`optimizer.resolve`), and the command line says that nothing was written.
A short critical step (moving a finished folder into place) holds both signals back with
:func:`signals_held`; they are delivered right after it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Iterator

HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled exactly as Ctrl-C is."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (Ctrl-C raises
    KeyboardInterrupt as always). Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a short critical step; they take effect right after it.

    The signals are recorded by a stand-in handler and handed to the real one on the way out
    (a signal mask would not do: another thread, such as a solver's, may take the signal and the
    main thread then runs its handler at once). Outside the main thread it does nothing: Python
    runs signal handlers in the main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
                for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(signum: int, handler) -> None:
    """What ``signum`` would have done had it not been held."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)


def worker_signals() -> None:
    """Process-pool worker initializer: the parent decides when a worker stops, so Ctrl-C at the
    terminal (sent to the whole process group) does not print a traceback from each worker; the
    parent's SIGTERM raises :class:`Terminated` in the worker, so that a running solve stops its
    solver (a CBC child process above all) before the worker ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_terminated)
