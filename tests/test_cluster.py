"""Re-solves on a Dask cluster (optimizer/cluster.py): a real ``dask.distributed.LocalCluster``,
two worker processes on the loopback address, one thread each.

Checked: the same results as the local pool (futures, and a whole ``solve --scheduler``);
a worker killed in the middle of a run loses and duplicates nothing (Dask reschedules its
tasks); an unreachable scheduler is a clear message naming the address, exit status 1, nothing
written; Ctrl-C stops a cluster run and writes nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("dask.distributed")

from optimizer.analyses.futures import sample_futures  # noqa: E402
from optimizer.cluster import ClusterError, check_address, executor_for  # noqa: E402
from optimizer.resolve import Parallel  # noqa: E402
from optimizer.solve import solve  # noqa: E402
from optimizer.validate import load_instance  # noqa: E402

from helpers import SERIAL  # noqa: E402

ROOT = Path(__file__).parents[1]
GOOD = ROOT / "tests" / "data" / "good.xlsx"  # six projects: each future solves in ~0.1 s


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def result():
    return solve(load_instance(GOOD))


def cluster_parallel(executor) -> Parallel:
    return Parallel(executor=executor, progress=False)


def test_futures_on_the_cluster_equal_the_local_pool(cluster, result):
    local = sample_futures(result, 12, parallel=SERIAL)
    with executor_for(cluster.scheduler_address) as executor:
        remote = sample_futures(result, 12, parallel=cluster_parallel(executor))
    assert remote == local
    assert remote.tables() == local.tables()


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, result):
    n = 40
    local = sample_futures(result, n, parallel=SERIAL)
    watcher = distributed.Client(cluster.scheduler_address, set_as_default=False)
    killed: dict[str, object] = {}

    def done(dask_scheduler) -> int:  # tasks finished, counted on the scheduler
        return sum(ts.state == "memory" for ts in dask_scheduler.tasks.values())

    def kill_a_busy_worker() -> None:
        pids = watcher.run(os.getpid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [w for w, keys in watcher.processing().items() if keys and w in pids]
            finished = watcher.run_on_scheduler(done)
            if busy and finished >= 3:
                killed.update(worker=busy[0], finished=finished)
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=kill_a_busy_worker)
    try:
        with executor_for(cluster.scheduler_address) as executor:
            thread.start()
            remote = sample_futures(result, n, parallel=cluster_parallel(executor))
        thread.join()
    finally:
        watcher.close()
    assert killed, "no worker was killed during the run"
    assert killed["finished"] < n  # the run was under way, not over
    assert [r.index for r in remote.rows] == list(range(n))  # each future once
    assert remote == local
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests


def test_a_whole_solve_on_the_cluster_equals_the_local_run(cluster, tmp_path):
    """Every analysis that re-solves (scenarios, why-not, sensitivity, futures) goes through the
    cluster and gives the local figures; only timings differ."""
    def run(out: Path, *extra: str) -> dict:
        cmd = [sys.executable, "-m", "optimizer", "solve", str(GOOD), "--futures", "6",
               "--out", str(out), *extra]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        doc = json.loads((out / "results.json").read_text())
        for key in ("solve_seconds", "build_seconds"):
            doc.pop(key)
        return doc

    local = run(tmp_path / "local", "--workers", "2")
    remote = run(tmp_path / "remote", "--scheduler", cluster.scheduler_address)
    assert {"scenarios", "why_not", "sensitivity", "futures"} <= set(local["analyses"])
    assert remote == local


def test_an_unreachable_scheduler_is_named_and_nothing_is_written(tmp_path):
    with __import__("socket").socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    out = tmp_path / "reports" / "good"
    cmd = [sys.executable, "-m", "optimizer", "solve", str(GOOD), "--futures", "3",
           "--scheduler", address, "--connect-timeout", "2", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()


def test_a_malformed_address_is_refused_with_its_form():
    for bad in ("localhost", "tcp://host", "http://h:1", "tcp://:8786"):
        with pytest.raises(ClusterError, match="tcp://HOST:PORT"):
            check_address(bad)
    assert check_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"


def test_ctrl_c_stops_a_cluster_run_and_writes_nothing(cluster, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "optimizer", "futures", str(GOOD), "--draws", "2000",
           "--scheduler", cluster.scheduler_address, "--out", str(out)]
    # unbuffered bytes: communicate() reads on from the very byte read(1) stopped at (a text or
    # buffered pipe reads ahead, and communicate() then starts mid-character or loses bytes)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=0)
    seen = b""
    deadline = time.monotonic() + 120

    def submitted() -> int:  # the progress bar's count of re-solves handed to the cluster
        return max((int(n) for n in re.findall(rb"/(\d+) \[", seen[-200:])), default=0)

    while submitted() < 2000 and time.monotonic() < deadline:  # the futures are under way
        seen += proc.stderr.read(1)
    assert submitted() >= 2000, seen[-500:]
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _stdout, rest = proc.communicate(timeout=60)
    stderr = (seen + rest).decode("utf-8", errors="replace")
    assert time.monotonic() - sent < 30  # the queued tasks are cancelled, not waited for
    assert proc.returncode == 1
    assert "interrupted; nothing was written." in stderr
    assert not out.exists()
    # the cancelled tasks leave the cluster free: a new run gets both workers at once
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.monotonic() + 30
        while any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(client.processing().values())


class SlowExecutor:
    """An executor whose tasks finish only after 20 s (unless cancelled): a cluster busy with
    long solves. A cancelled task wakes its waiters, as Dask's executor does
    (``distributed.cfexecutor``: ``set_running_or_notify_cancel`` once the task is cancelled)."""

    def __init__(self) -> None:
        self.timers: list[threading.Timer] = []

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        future: Future = Future()

        def finish() -> None:
            if future.set_running_or_notify_cancel():
                future.set_result(fn(*args, **kwargs))
        future.add_done_callback(lambda f: f.cancelled() and f.set_running_or_notify_cancel())
        timer = threading.Timer(20.0, finish)
        timer.daemon = True
        timer.start()
        self.timers.append(timer)
        return future


def test_an_interrupt_cancels_the_re_solves_the_analyses_wait_for():
    """Ctrl-C while analyses in threads wait for a cluster's re-solves (why-not, sensitivity,
    scenarios run beside the futures): their tasks are cancelled, so the run stops at once
    instead of waiting 20 s for them."""
    from optimizer.phases import Phases
    from optimizer.resolve import run_parallel

    executor = SlowExecutor()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with Phases(Parallel(executor=executor, progress=False)) as run:
            waiting = run.fanout("why not", run_parallel, abs, [(-1,), (-2,)], run.parallel)
            time.sleep(0.2)
            raise KeyboardInterrupt
    assert time.monotonic() - started < 10
    assert waiting.done()
    for timer in executor.timers:
        timer.cancel()
