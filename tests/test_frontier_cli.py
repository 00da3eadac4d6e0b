"""The frontier command runs what it says: the solve and the frontier, nothing else unless asked;
an earlier run's other analyses are kept; the outputs say which measure the frontier traded."""

from __future__ import annotations

import json

import openpyxl

from optimizer.analyses.frontier import SECURITY_VALUE, SHARE_YEARS
from optimizer.instance import Mineral
from optimizer.template import write_workbook
from test_cli import run, small_workbook
from test_model_hand import instance, project

OTHERS = ("stress_test", "why_not", "sensitivity", "budget_ladder", "scenarios", "robust",
          "alternatives", "simulation_summary")


def weighted_workbook(tmp_path):
    """The premium_instance of test_frontier (one project of A, B, C; weighted picks A)."""
    minerals = {"X": Mineral("X", 1000.0, 1.0, security_premium_usd_per_t=50_000.0),
                "Y": Mineral("Y", 1000.0, 1.0)}
    ps = [project("A", capex=10, cap=100, npv=0, mineral="X"),
          project("B", capex=10, cap=500, npv=1, mineral="Y"),
          project("C", capex=10, cap=50, npv=0.5, mineral="X")]
    path = tmp_path / "weighted.xlsx"
    write_workbook(instance(ps, budget={2026: 10}, horizon=1, minerals=minerals,
                            objective="weighted"), path)
    return path


def test_frontier_alone_runs_only_the_frontier_and_says_so(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    r = run("frontier", str(wb), "--out", str(out), "--points", "3", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert ("frontier runs the solve and the frontier (3 points: NPV against "
            f"{SHARE_YEARS.label}) only; --ladder adds the budget ladder") in r.stdout
    assert "Frontier solves (" in r.stdout and "(recommended plan)" in r.stdout
    doc = json.loads((out / "results.json").read_text())
    assert doc["frontier"]
    assert not [k for k in OTHERS if k in doc], "only the frontier was asked for"
    assert all(p["measure"] == SHARE_YEARS.label for p in doc["frontier"])
    assert [p["recommended"] for p in doc["frontier"]].count(True) == 1
    assert (out / "memo.html").is_file()


def test_frontier_keeps_the_earlier_runs_analyses_and_adds_the_ladder_when_asked(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), "--no-sensitivity", "--workers", "1"
               ).returncode == 0
    before = json.loads((out / "results.json").read_text())
    r = run("frontier", str(wb), "--out", str(out), "--points", "3", "--ladder",
            "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "and the budget ladder only" in r.stdout and "Added the frontier" in r.stdout
    doc = json.loads((out / "results.json").read_text())
    assert doc["frontier"] and doc["budget_ladder"]
    assert doc["stress_test"] == before["stress_test"]


def test_weighted_frontier_says_its_measure_in_every_output(tmp_path):
    wb = weighted_workbook(tmp_path)
    out = tmp_path / "out"
    r = run("frontier", str(wb), "--out", str(out), "--points", "3", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert f"NPV against {SECURITY_VALUE.label}" in r.stdout
    doc = json.loads((out / "results.json").read_text())
    rows = [(p["funded"], round(p["security_premium_musd"], 6), p["recommended"])
            for p in doc["frontier"]]
    assert rows == [("B", 0, False), ("C", 2.5, False), ("A", 5, True)]
    ws = openpyxl.load_workbook(out / "results.xlsx")["Frontier"]
    header = [c.value for c in ws[1]]
    assert "Measure" in header and "Security premium $M" in header
    column = header.index("Measure")
    assert {r[column] for r in ws.iter_rows(min_row=2, values_only=True)} == \
        {SECURITY_VALUE.label}
    memo = (out / "memo.md").read_text()
    assert "Security value \\$M" in memo and "it lies on this frontier" in memo
