"""The analyses of a run at the same time (optimizer.phases): the same values as in order, each
phase timed, a failure raised where the value is asked for, and Ctrl-C stopping the workers at
once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from optimizer.phases import Phases, Timings
from optimizer.resolve import Parallel, run_parallel

from helpers import SERIAL

ONE = SERIAL
TWO = Parallel(workers=2, progress=False)


def _square(x: int) -> int:
    return x * x


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _fail(message: str) -> None:
    raise ValueError(message)


def _squares(xs, parallel: Parallel) -> list[int]:
    return run_parallel(_square, [(x,) for x in xs], parallel)


@pytest.mark.parametrize("parallel", [ONE, TWO], ids=["in order", "at the same time"])
def test_the_values_are_those_of_the_calls(parallel):
    timings = Timings()
    with Phases(parallel, timings) as run:
        fan = run.fanout("squares", _squares, range(6), run.parallel)
        chain = run.chain("one square", _square, 7)
        now = run.now("here", _square, 3)
        assert (run.get(fan), run.get(chain), now) == ([0, 1, 4, 9, 16, 25], 49, 9)
    assert sorted(name for name, _ in timings.phases) == ["here", "one square", "squares"]
    assert all(seconds >= 0 for _, seconds in timings.phases)
    assert timings.concurrent == (set() if parallel is ONE else {"squares", "one square"})


def test_a_failure_is_raised_where_its_value_is_asked_for():
    with pytest.raises(ValueError, match="no plan"):
        with Phases(TWO) as run:
            failing = run.chain("chain", _fail, "no plan")
            run.get(failing)


def test_the_breakdown_marks_what_overlapped():
    t = Timings()
    t.add("base solve", 3.25)
    t.add("why not", 12.5, concurrent=True)
    lines = t.lines(total=20.0)
    assert lines[1].startswith("base solve") and lines[1].endswith("3.25")
    assert lines[2].endswith("12.50 *") and "20.00" in lines[3] and lines[-1].startswith("*")


def test_an_interrupt_stops_the_analyses_and_their_workers_at_once():
    """Ctrl-C while a fanning-out analysis and a chain wait for 60-second tasks: the run stops
    within seconds, not when the tasks end."""
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        with Phases(TWO) as run:
            fan = run.fanout("sleeps", run_parallel, _sleep, [(60.0,), (60.0,)], run.parallel)
            chain = run.chain("sleep", _sleep, 60.0)
            run.get(fan)
            run.get(chain)
    assert time.perf_counter() - t0 < 20, "waited for the workers' tasks to end"
