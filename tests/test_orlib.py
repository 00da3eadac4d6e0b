"""Published optima of OR-Library multidimensional knapsacks, reached through the normal command.

Each mknap1 problem is mapped onto a portfolio (``optimizer.orlib.knapsack_instance``: one project
per item, one budget year per constraint), written as an input workbook, and solved by
``python -m optimizer solve``; the objective in ``results.json`` must equal the published optimum.
Data and optima: ``tests/data/mknap1.txt`` and ``tests/data/ORLIB_SOURCE.md``. A direct solve of
the same mapping (no workbook, no subprocess) runs first, so a mapping fault is told apart from a
workbook or command-line fault.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.orlib import (
    PROFILE_RTOL, Knapsack, budget_rows, item_profile, knapsack_instance, parse_mknap1,
    parse_mknap2,
)
from optimizer.solve import solve
from optimizer.template import write_workbook
from optimizer.validate import load_instance

ROOT = Path(__file__).resolve().parents[1]
MKNAP1 = ROOT / "tests" / "data" / "mknap1.txt"
MKNAP2 = ROOT / "bench" / "data" / "mknap2.txt"
OPTIMA_CSV = ROOT / "bench" / "data" / "optima.csv"

# name -> (items n, constraints m, published optimum); rows of optima.csv (see ORLIB_SOURCE.md).
PUBLISHED = {
    "mknap1_1": (6, 10, 3800.0),
    "mknap1_2": (10, 10, 8706.1),
    "mknap1_3": (15, 10, 4015.0),
    "mknap1_4": (20, 10, 6120.0),
    "mknap1_5": (28, 10, 12400.0),
    "mknap1_6": (39, 5, 10618.0),
    "mknap1_7": (50, 5, 16537.0),
}
NAMES = list(PUBLISHED)
ABS_TOL = 1e-6


@pytest.fixture(scope="module")
def knapsacks() -> dict[str, Knapsack]:
    return {k.name: k for k in parse_mknap1(MKNAP1.read_text())}


def weights_match(instance, k: Knapsack) -> list[str]:
    """Every (year, item) whose recomputed spend differs from the knapsack weight."""
    rows = budget_rows(instance)
    bad = []
    for i, year in enumerate(instance.settings.years):
        for j, (got, want) in enumerate(zip(rows[year], k.weights[i])):
            if abs(got - want) > PROFILE_RTOL * max(abs(want), 1.0):
                bad.append(f"{year} item {j + 1}: {got!r} != {want!r}")
    return bad


# ---------------------------------------------------------------- parsing

def test_mknap1_parses_as_published(knapsacks) -> None:
    assert list(knapsacks) == NAMES
    for name, (n, m, opt) in PUBLISHED.items():
        k = knapsacks[name]
        assert (k.n, k.m, k.optimum) == (n, m, opt)
        assert all(len(row) == n for row in k.weights)
    assert knapsacks["mknap1_2"].profits[0] == 600.1  # the fractional instance


def test_mknap1_first_problem_by_enumeration(knapsacks) -> None:
    """The parser's rows and capacities give the published optimum by plain enumeration."""
    k = knapsacks["mknap1_1"]
    best = max(k.value(set(c)) for r in range(k.n + 1)
               for c in itertools.combinations(range(k.n), r) if k.fits(set(c)))
    assert best == 3800.0


def test_mknap2_parses_all_48_problems() -> None:
    problems = parse_mknap2(MKNAP2.read_text())
    rows = {line.split(",")[0]: line.split(",")[1:4]
            for line in OPTIMA_CSV.read_text().splitlines()[1:]}
    assert len(problems) == 48
    assert [p.name for p in problems[:3]] == ["SENTO1", "SENTO2", "WEING1"]
    for p in problems:
        n, m, opt = rows[p.name]
        assert (p.n, p.m, p.optimum) == (int(n), int(m), float(opt)), p.name


def test_mknap2_block_layout() -> None:
    """m and n come first, capacities before the matrix, the optimum last."""
    text = ("header\n+++++\nproblem TINY.DAT\n\n+++++++++++++++++\n"
            " 2 3\n 10 20 30\n 5 6\n 1 2 3\n 4 5 6\n\n 40\n\n+++++++++++++++++\n")
    (k,) = parse_mknap2(text)
    assert (k.name, k.profits, k.capacities, k.optimum) == ("TINY", (10, 20, 30), (5, 6), 40)
    assert k.weights == ((1, 2, 3), (4, 5, 6))


def test_truncated_mknap1_is_an_error() -> None:
    with pytest.raises(ValueError, match="ends early"):
        parse_mknap1("1\n 3 2 10\n 1 2 3\n 1 1 1\n 1 1")


# ---------------------------------------------------------------- mapping

@pytest.mark.parametrize("name", NAMES)
def test_mapping_reproduces_rows_and_capacities(knapsacks, name: str) -> None:
    k = knapsacks[name]
    inst = knapsack_instance(k)
    s = inst.settings
    assert (s.horizon_years, s.discount_rate, s.objective, s.mip_gap) == (k.m, 0.0, "npv", 0.0)
    assert [inst.budget[t] for t in s.years] == list(k.capacities)
    assert [p.npv_musd for p in inst.projects.values()] == list(k.profits)
    assert weights_match(inst, k) == []


def test_item_without_weights_costs_nothing_and_is_funded() -> None:
    capex, shares = item_profile([0.0, 0.0, 0.0])
    assert capex == 0.0 and shares == (1 / 3, 1 / 3, 1 / 3)
    k = Knapsack("free", (5.0, 7.0), ((0.0, 4.0), (0.0, 4.0)), (3.0, 10.0), 5.0)
    result = solve(knapsack_instance(k), mip_gap=0.0)
    assert dict(result.starts) == {"item_001": 2030}
    assert result.objective_value == 5.0


@pytest.mark.parametrize("name", NAMES)
def test_direct_solve_reaches_published_optimum(knapsacks, name: str) -> None:
    result = solve(knapsack_instance(knapsacks[name]))
    assert result.info.status == "optimal"
    assert math.isclose(result.objective_value, PUBLISHED[name][2], rel_tol=0, abs_tol=ABS_TOL)


def test_workbook_round_trip_keeps_the_mapping(knapsacks, tmp_path: Path) -> None:
    """Shares pass through the workbook as decimals: the rows must still equal the weights."""
    k = knapsacks["mknap1_2"]
    inst = knapsack_instance(k)
    back = load_instance(write_workbook(inst, tmp_path / "k.xlsx"))
    assert back.warnings == ()
    assert back.settings == inst.settings
    assert dict(back.budget) == dict(inst.budget)
    assert [p.npv_musd for p in back.projects.values()] == list(k.profits)
    assert weights_match(back, k) == []


# ---------------------------------------------------------------- the normal command

@pytest.fixture(scope="module")
def cli_runs(knapsacks, tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every mknap1 workbook solved by ``python -m optimizer solve`` (processes run together)."""
    root = tmp_path_factory.mktemp("orlib")
    procs = {}
    for name in NAMES:
        path = write_workbook(knapsack_instance(knapsacks[name]), root / f"{name}.xlsx")
        out = root / f"{name}_out"
        cmd = [sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(out),
               "--no-sensitivity"]
        procs[name] = (subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True), out)
    runs = {}
    for name, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        runs[name] = (subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out)
    return runs


@pytest.mark.parametrize("name", NAMES)
def test_command_reaches_published_optimum(cli_runs, name: str) -> None:
    run, out = cli_runs[name]
    assert run.returncode == 0, run.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["status"] == "optimal"
    assert doc["objective"] == "npv"
    assert math.isclose(doc["objective_value"], PUBLISHED[name][2], rel_tol=0, abs_tol=ABS_TOL)
