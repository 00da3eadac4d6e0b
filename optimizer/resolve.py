"""Run independent re-solves in parallel on the machine's cores, with a progress bar.

Each task is a picklable function call. Solves inside a worker use one HiGHS thread, so each answer
is deterministic whatever the number of workers. With ``workers=1`` the tasks run in this process.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from tqdm import tqdm

from .errors import InfeasibleError, SolverError
from .instance import Instance
from .interrupts import worker_signals
from .results import Result
from .solve import solve

STOP_GRACE_S = 3.0  # seconds a worker has to stop its solver after SIGTERM before it is killed


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_parallel(func: Callable[..., Any], tasks: Sequence[tuple], *, workers: int | None = None,
                 label: str = "re-solves", progress: bool = True) -> list[Any]:
    """``[func(*task) for task in tasks]``, computed in parallel; results keep the task order."""
    workers = default_workers() if workers is None else max(1, workers)
    bar = tqdm(total=len(tasks), desc=label, unit="solve", file=sys.stderr,
               disable=not progress or not tasks, leave=False)
    results: list[Any] = [None] * len(tasks)
    try:
        if workers == 1 or len(tasks) <= 1:
            for i, task in enumerate(tasks):
                results[i] = func(*task)
                bar.update()
            return results
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                                   initializer=worker_signals)
        try:
            futures = {pool.submit(func, *task): i for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
        except BaseException:
            stop_pool(pool)
            raise
        pool.shutdown()
        return results
    finally:
        bar.close()


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


def try_solve(instance: Instance, solver: str | None, time_limit_s: float | None,
              mip_gap: float | None, explain: bool = False) -> Result | list[str]:
    """A verified Result, or the infeasibility reasons (a list of sentences) when none exists.

    ``explain`` runs the diagnosis (a few more solves) to say why; otherwise the reason is short.
    """
    try:
        return solve(instance, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                     diagnose=explain)
    except InfeasibleError as exc:
        return exc.reasons
    except SolverError as exc:
        return [str(exc)]
