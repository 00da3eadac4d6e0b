"""Time sampled futures of the bundled example: N futures (default 200) re-optimized with 1 and
2 local worker processes and through a 2-worker Dask LocalCluster (processes on the loopback
address, one thread each); print wall time, speed-up and the overhead per task, check that the
three runs give the same futures, and work out on paper what 1,000 futures on 100 workers take.

A print, not a test:

    .venv/bin/python bench/futures_bench.py [--draws 200] [--workbook WORKBOOK]

(default workbook: inputs/central_asia_refining.xlsx).

Definitions (N futures, w workers, W the wall time of a run, t_i the time future i took inside
its task in that run):

* speed-up of a run: W(1 worker) / W;
* overhead per task: (w x W - sum t_i) / N, the worker time each task costs outside its own
  solve: sending it, pickling the instance and the answer, scheduling, and workers idle at the
  end of the run waiting for the last tasks (on a loaded machine the solves themselves are
  slower, which shows in t_i, not here);
* dispatch cost per task: the same, measured with N tasks that carry the same arguments but
  only return (no solve), so that nothing but the executor's own cost is timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.analyses.futures import Futures, sample_futures  # noqa: E402
from optimizer.cluster import executor_for  # noqa: E402
from optimizer.resolve import Parallel, SolveOptions, run_parallel  # noqa: E402
from optimizer.solve import solve  # noqa: E402
from optimizer.validate import load_instance  # noqa: E402

TARGET_FUTURES, TARGET_WORKERS = 1_000, 100


def empty_task(instance, index: int, seed: int, options) -> int:
    """A task with the arguments of a future that does nothing with them."""
    return index


def dispatch_cost(executor, workers: int, tasks: list[tuple]) -> float:
    """Worker seconds per task of running ``tasks`` of :func:`empty_task`."""
    t0 = time.perf_counter()
    run_parallel(empty_task, tasks, Parallel(workers=workers, executor=executor, progress=False))
    return workers * (time.perf_counter() - t0) / len(tasks)


def timed(run) -> tuple[Futures, float]:
    t0 = time.perf_counter()
    out = run()
    return out, time.perf_counter() - t0


def overhead(wall: float, workers: int, compute: float, n: int) -> float:
    return (workers * wall - compute) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--workbook", default=str(ROOT / "inputs" / "central_asia_refining.xlsx"))
    args = parser.parse_args()
    n = args.draws

    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores "
          f"(load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the start)")
    instance = load_instance(args.workbook)
    result, base = timed(lambda: solve(instance))
    print(f"{Path(args.workbook).name}: {len(instance.projects)} projects; the base solve takes "
          f"{base:.1f} s\n")

    serial, w1 = timed(lambda: sample_futures(result, n, parallel=Parallel(workers=1)))
    task = [r.seconds for r in serial.rows]
    pool, w2 = timed(lambda: sample_futures(result, n, parallel=Parallel(workers=2)))
    empty = [(instance, i, instance.settings.seed, SolveOptions()) for i in range(n)]
    pool_dispatch = dispatch_cost(None, 2, empty)
    from dask.distributed import LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        startup = time.perf_counter() - t0
        with executor_for(cluster.scheduler_address) as executor:
            dask, wc = timed(lambda: sample_futures(result, n,
                                                    parallel=Parallel(executor=executor)))
            dask_dispatch = dispatch_cost(executor, 2, empty)
    same = serial == pool == dask

    print(f"{n} futures: {serial.no_plan} without a plan; one future (serial run) takes mean "
          f"{statistics.mean(task):.2f} s, median {statistics.median(task):.2f} s, max "
          f"{max(task):.2f} s; sum {sum(task):.1f} s")
    print(f"{'run':<22}{'workers':>8}{'wall s':>9}{'speed-up':>10}{'in tasks s':>12}"
          f"{'overhead/task s':>17}{'dispatch/task ms':>18}")
    rows = [("local, one process", 1, w1, serial, None), ("local process pool", 2, w2, pool,
                                                          pool_dispatch),
            ("Dask LocalCluster", 2, wc, dask, dask_dispatch)]
    for name, workers, wall, futures, dispatch in rows:
        inside = sum(r.seconds for r in futures.rows)
        print(f"{name:<22}{workers:>8}{wall:>9.1f}{w1 / wall:>10.2f}{inside:>12.1f}"
              f"{overhead(wall, workers, inside, n):>17.3f}"
              f"{'-' if dispatch is None else f'{1000 * dispatch:.1f}':>18}")
    print(f"(the LocalCluster took {startup:.1f} s to start, not counted above; load average "
          f"at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    print(f"same futures in all three runs: {'yes' if same else 'NO'}\n")

    mean = statistics.mean(task)
    waves = -(-TARGET_FUTURES // TARGET_WORKERS)
    solve_part = TARGET_FUTURES * mean / TARGET_WORKERS
    spread = TARGET_FUTURES * dask_dispatch / TARGET_WORKERS
    queued = TARGET_FUTURES * dask_dispatch
    tail = max(task)
    print(f"On paper: {TARGET_FUTURES:,} futures on {TARGET_WORKERS} workers "
          f"({waves} futures per worker), from the figures above:")
    print(f"  solving: {TARGET_FUTURES:,} x {mean:.2f} s (mean per future) / {TARGET_WORKERS} "
          f"= {solve_part:.1f} s")
    print(f"  dispatch: {TARGET_FUTURES:,} x {1000 * dask_dispatch:.1f} ms / {TARGET_WORKERS} "
          f"= {spread:.2f} s if it is spread over the workers, at worst {TARGET_FUTURES:,} x "
          f"{1000 * dask_dispatch:.1f} ms = {queued:.1f} s if all of it queues at the one "
          "scheduler")
    print(f"  the last futures: a worker may still be on the slowest one ({tail:.1f} s) when the "
          "others are done: up to that much more")
    low, high = solve_part + spread, solve_part + queued + tail
    print(f"  total: {solve_part:.1f} + {spread:.2f} = {low:.0f} s at best, {solve_part:.1f} + "
          f"{queued:.1f} + {tail:.1f} = {high:.0f} s at worst ({low / 60:.1f} to "
          f"{high / 60:.1f} minutes), against {TARGET_FUTURES:,} x {mean:.2f} s = "
          f"{TARGET_FUTURES * mean / 60:.0f} minutes on one worker; plus starting the workers.")
    print("  The per-future time was measured on this machine at its load; a dedicated core "
          "solves faster, which shortens every line but the dispatch.")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
