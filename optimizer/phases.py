"""The analyses of one run at the same time, on one pool of solver processes, each phase timed.

An analysis that fans out independent re-solves (scenarios, why-not, budget sensitivity) runs in
a thread of this process and hands its re-solves to the shared executor; an analysis that is one
chain of solves (near-optimal alternatives, the price of robustness, of a risk-aware plan) is one
task of that executor; the rest (stress test, Monte Carlo, and every analysis the pipeline calls
with :meth:`Phases.now`) run here meanwhile. With two cores, a long chain no longer leaves a core
idle while a batch of re-solves waits for its slowest member.

Nothing here changes an answer: every re-solve is independent (it starts, at most, from the base
plan, see :class:`optimizer.resolve.SolveOptions`) and single-threaded, so its result does not
depend on what runs beside it. With one worker everything runs in order, in this process, as
before. Ctrl-C (or SIGTERM) stops the local pool's workers at once (:func:`stop_pool`); the
threads then see their re-solves fail and end.

:class:`Timings` records the wall seconds of each phase; phases that run at the same time
overlap, so their seconds add up to more than the run's.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from tqdm import tqdm

from .interrupts import stop_pool, worker_signals
from .resolve import Parallel

THREADS = 8  # at most this many fanning-out analyses at once (each mostly waits)


@dataclass
class Timings:
    """Wall seconds of each phase of a run, in the order the phases ended; ``concurrent`` names
    the phases that ran beside others (their seconds overlap)."""

    phases: list[tuple[str, float]] = field(default_factory=list)
    concurrent: set[str] = field(default_factory=set)

    def add(self, name: str, seconds: float, concurrent: bool = False) -> None:
        self.phases.append((name, seconds))
        if concurrent:
            self.concurrent.add(name)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def lines(self, total: float | None = None) -> list[str]:
        """The breakdown as text: one line per phase, ``*`` for phases that overlapped."""
        width = max((len(n) for n, _ in self.phases), default=5)
        out = [f"{'phase':<{width}}  seconds"]
        for name, seconds in self.phases:
            mark = " *" if name in self.concurrent else ""
            out.append(f"{name:<{width}}  {seconds:7.2f}{mark}")
        if total is not None:
            out.append(f"{'total (wall)':<{width}}  {total:7.2f}")
        if self.concurrent:
            out.append("* ran at the same time as other phases (their seconds overlap)")
        return out


class _Counting:
    """An executor that forwards to another and counts its tasks on one progress bar."""

    def __init__(self, executor: Executor, bar: tqdm) -> None:
        self._executor = executor
        self._bar = bar
        self._pending: set[Future] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future = self._executor.submit(fn, *args, **kwargs)
        self._bar.total = (self._bar.total or 0) + 1
        self._bar.refresh()
        self._pending.add(future)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future) -> None:
        self._bar.update()
        self._pending.discard(future)

    def cancel_all(self) -> None:
        """Cancel every task not yet done (a Dask cluster's too: its threads' waits end)."""
        for future in list(self._pending):
            future.cancel()


def _timed(func: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``func(*args)`` and its wall seconds (run in a pool worker)."""
    t0 = time.perf_counter()
    value = func(*args)
    return value, time.perf_counter() - t0


def _done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


class Phases:
    """Runs a run's analyses (see the module docstring). Use as a context manager::

        with Phases(parallel, timings) as run:
            later = run.fanout("scenarios", compare_scenarios, result, options, run.parallel)
            now = run.now("stress test", stress_test, result)
            scenarios = run.get(later)

    ``run.parallel`` is what the analyses get for their own re-solves: the shared executor
    (without progress bars of their own: one bar counts every re-solve), or the caller's
    ``parallel`` when everything runs in order.

    ``meanwhile``: a call to make in a background thread while the analyses run (the pipeline
    imports the report writers' libraries there, about a second that would otherwise come after
    the analyses); it starts once the local pool's workers exist, so that no worker is forked
    while the thread holds an import lock. Nothing waits for it.
    """

    def __init__(self, parallel: Parallel, timings: Timings | None = None,
                 meanwhile: Callable[[], Any] | None = None) -> None:
        self.timings = timings if timings is not None else Timings()
        self._meanwhile = meanwhile
        self._given = parallel
        workers = parallel.worker_count
        self.concurrent = parallel.executor is not None or workers > 1
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._bar: tqdm | None = None
        self._executor: Executor | _Counting | None = None
        self.parallel = parallel

    def __enter__(self) -> "Phases":
        if not self.concurrent:
            return self
        executor = self._given.executor
        if executor is None:
            self._pool = ProcessPoolExecutor(max_workers=self._workers,
                                             initializer=worker_signals)
            self._pool.submit(int)  # forks every worker now (with fork, all at the first task)
            executor = self._pool
        self._bar = tqdm(total=0, desc="re-solves", unit="solve", file=sys.stderr,
                         disable=not self._given.progress, leave=False)
        self._executor = _Counting(executor, self._bar)
        self._threads = ThreadPoolExecutor(max_workers=THREADS,
                                           thread_name_prefix="analysis")
        self.parallel = Parallel(executor=self._executor, progress=False)  # type: ignore[arg-type]
        if self._meanwhile is not None:
            threading.Thread(target=self._meanwhile, name="meanwhile", daemon=True).start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.concurrent:
            return
        try:
            if exc_type is not None and self._pool is not None:
                stop_pool(self._pool)  # the threads' re-solves fail now, and the threads end
            if exc_type is not None and self._executor is not None:
                self._executor.cancel_all()  # on a given executor (Dask): the same, by cancel
            if self._threads is not None:
                self._threads.shutdown(wait=True, cancel_futures=exc_type is not None)
            if self._pool is not None and exc_type is None:
                self._pool.shutdown()
        finally:
            if self._bar is not None:
                self._bar.close()

    def now(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` in this thread, timed."""
        with self.timings.phase(name):
            return func(*args, **kwargs)

    def fanout(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """``func(*args, **kwargs)`` in a thread (an analysis that hands its re-solves to
        ``self.parallel``); its value later by :meth:`get`."""
        if not self.concurrent:
            return _done(self.now(name, func, *args, **kwargs))
        assert self._threads is not None, "use Phases as a context manager"

        def timed() -> Any:
            value, seconds = _timed(lambda: func(*args, **kwargs))
            self.timings.add(name, seconds, concurrent=True)
            return value
        return self._threads.submit(timed)

    def chain(self, name: str, func: Callable[..., Any], *args: Any) -> Future:
        """``func(*args)`` as one task of the shared executor (an analysis that is one chain of
        solves; ``func`` and ``args`` must pickle); its value later by :meth:`get`."""
        if not self.concurrent:
            return _done(self.now(name, func, *args))
        assert self._executor is not None, "use Phases as a context manager"
        inner = self._executor.submit(_timed, func, *args)
        outer: Future = Future()

        def unpack(f: Future) -> None:
            if f.cancelled():
                outer.cancel()
                return
            error = f.exception()
            if error is not None:
                outer.set_exception(error)
                return
            value, seconds = f.result()
            self.timings.add(name, seconds, concurrent=True)
            outer.set_result(value)
        inner.add_done_callback(unpack)
        return outer

    @staticmethod
    def get(future: Future) -> Any:
        """The value of a :meth:`fanout` or :meth:`chain` (its exception raised here)."""
        return future.result()
