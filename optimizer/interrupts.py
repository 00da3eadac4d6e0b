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
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

HELD = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE_S = 3.0  # seconds a worker has to stop its solver after SIGTERM before it is killed


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


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: queued tasks are cancelled and running workers killed, so an interrupt
    does not wait for solves that may run to their time limit."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # SIGTERM first: a worker stops its solver's child process
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


@contextlib.contextmanager
def worker_pool(max_workers: int, mp_context=None) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers take their signals from the parent (:func:`worker_signals`),
    stopped at once (:func:`stop_pool`) if the block raises, an interrupt above all, and shut
    down after its tasks otherwise."""
    pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=mp_context,
                               initializer=worker_signals)
    try:
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown()
