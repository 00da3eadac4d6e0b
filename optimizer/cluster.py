"""Where independent re-solves run: this machine's process pool, or a Dask cluster.

``--scheduler tcp://HOST:PORT`` connects to a running Dask scheduler (``dask scheduler``, see
docs/cluster.md) and hands every analysis that re-solves in parallel (why-not, sensitivity,
scenarios, frontier and budget ladder, futures) the client's ``concurrent.futures`` executor
through :class:`optimizer.resolve.Parallel`; the analyses do not know which they got. Each task
seeds itself from its own arguments and solves on one HiGHS thread, so a cluster gives exactly
the results of the local pool.

The connection is made, and checked, before anything is written: an unreachable scheduler, one
without workers, or workers that cannot run this version of the optimizer is a
:class:`ClusterError` naming the address (exit status 1, nothing written). On the way out, normal
or not (Ctrl-C: :func:`optimizer.resolve.run_parallel` cancels the tasks still queued), the client
is closed.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any, Iterator

CONNECT_TIMEOUT_S = 10.0  # seconds to reach the scheduler, and again to see a worker
CLOSE_TIMEOUT_S = 10.0
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")  # Dask's network protocols


class ClusterError(OSError):
    """The Dask cluster cannot be used (unreachable, no workers, wrong software on them)."""


def worker_versions() -> dict[str, str]:
    """The software a worker runs (called on every worker): the optimizer and HiGHS versions."""
    from . import __version__
    from .solvers import HIGHS_VERSION

    return {"optimizer": __version__, "highs": str(HIGHS_VERSION)}


def check_address(address: str) -> str:
    """``address`` when it reads SCHEME://HOST:PORT; else a ClusterError saying the form."""
    scheme, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if not sep or scheme not in SCHEMES or not colon or not host or not port.isdigit():
        raise ClusterError(f"--scheduler {address!r} is not a Dask scheduler address: write it "
                           "as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (the address "
                           "`dask scheduler` prints)")
    return address


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address`` with at least one worker
    that runs the same optimizer and HiGHS as this machine."""
    check_address(address)
    from dask.distributed import Client

    with _quiet():
        try:
            client = Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
                f"({type(exc).__name__}: {exc}). Check that `dask scheduler` runs there and the "
                "port is open (docs/cluster.md), or leave out --scheduler to use this "
                "machine's cores. Nothing was written.") from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (TimeoutError, OSError):
            raise ClusterError(
                f"the Dask scheduler at {address} has no workers (none joined within "
                f"{timeout_s:g} s): start some with `dask worker {address}` (docs/cluster.md). "
                "Nothing was written.") from None
        check_workers(client, address)
    except BaseException:
        close(client)
        raise
    return client


def check_workers(client: Any, address: str) -> None:
    """Every worker must import this optimizer at the same version, with the same HiGHS."""
    here = worker_versions()
    try:
        found = client.run(worker_versions)
    except Exception as exc:  # a worker that cannot unpickle optimizer.cluster, most often
        raise ClusterError(
            f"the workers of the Dask scheduler at {address} cannot run the optimizer "
            f"({type(exc).__name__}: {exc}): install this version ({here['optimizer']}) on "
            "every worker (docs/cluster.md). Nothing was written.") from None
    wrong = {worker: v for worker, v in found.items() if v != here}
    if wrong:
        worker, versions = next(iter(wrong.items()))
        raise ClusterError(
            f"{len(wrong)} worker(s) of the Dask scheduler at {address} run other software than "
            f"this machine (e.g. {worker}: optimizer {versions.get('optimizer')}, HiGHS "
            f"{versions.get('highs')}; here: optimizer {here['optimizer']}, HiGHS "
            f"{here['highs']}), so their results could differ. Install the same versions on "
            "every worker. Nothing was written.")


def close(client: Any) -> None:
    """Close the client; a scheduler gone meanwhile is no reason to fail."""
    with _quiet():
        try:
            client.close(timeout=CLOSE_TIMEOUT_S)
        except Exception:  # the run's own outcome (or interrupt) is what matters
            pass


@contextmanager
def executor_for(address: str | None,
                 timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[Executor | None]:
    """The executor for independent re-solves: None (the local process pool) without an
    address, else a Dask client's executor, the client closed on the way out."""
    if not address:
        yield None
        return
    client = connect(address, timeout_s)
    try:
        # pure=False: every call is a task of its own (never merged with an identical one)
        yield client.get_executor(pure=False)
    finally:
        close(client)


@contextmanager
def _quiet() -> Iterator[None]:
    """Dask logs each failed connection attempt; the user gets one clear message instead."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
