"""The committee's own plan: scored without optimizing, compared with the recommendation."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from optimizer.analyses.proposal import compare, proposed_starts, score
from optimizer.solve import solve
from optimizer.template import write_workbook
from test_model_hand import instance, project


def proposal_instance(**starts):
    """Budget 50 a year, NPV objective, no discounting. A (capex 50, NPV 100), B (50, 80),
    C (capex 0, NPV -5), each may start 2026 or 2027 (build 1). The optimum funds A and B in the
    two years (180)."""
    ps = [project("A", capex=50, build=1, start=(2026, 2027), npv=100),
          project("B", capex=50, build=1, start=(2026, 2027), npv=80),
          project("C", npv=-5)]
    ps = [dataclasses.replace(p, proposed_start=starts.get(p.project_id)) for p in ps]
    return instance(ps, budget=50)


def run(*args):
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True,
                          text=True, timeout=300)


def test_a_feasible_proposal_and_its_regret_by_hand():
    """Proposal: A in 2026 and C: NPV 100 - 5 = 95; the optimum is 180; regret 85."""
    inst = proposal_instance(A=2026, C=2026)
    p = compare(score(inst, proposed_starts(inst), simulate_draws=0), solve(inst))
    assert p.feasible and p.violations == ()
    assert p.objective_value == pytest.approx(95)
    assert p.regret == pytest.approx(85)
    assert p.only_in_proposal == ("C",) and p.only_in_plan == ("B",)


def test_a_proposal_breaking_the_budget_names_the_rule_with_amounts():
    """A and B both in 2026 spend 100 against a budget of 50: no regret is given."""
    inst = proposal_instance(A=2026, B=2026)
    p = compare(score(inst, proposed_starts(inst), simulate_draws=0), solve(inst))
    assert not p.feasible and p.regret is None
    assert any("2026" in v and "100.000000 $M" in v and "50.000000 $M" in v for v in p.violations)


def test_a_start_outside_the_window_is_a_violation_not_an_input_error(tmp_path):
    inst = proposal_instance(A=2030)
    path = write_workbook(inst, tmp_path / "p.xlsx")
    r = run("evaluate", str(path), "--draws", "0")
    assert r.returncode == 0, r.stderr
    assert "A starts in 2030, outside its allowed start years" in r.stdout
    assert "breaks 1 rule" in r.stdout


def test_evaluate_command_exit_statuses(tmp_path):
    ok = write_workbook(proposal_instance(A=2026, C=2026), tmp_path / "ok.xlsx")
    r = run("evaluate", str(ok), "--draws", "0")
    assert r.returncode == 0 and "keeps every rule" in r.stdout and "95.000" in r.stdout
    none = write_workbook(proposal_instance(), tmp_path / "none.xlsx")
    r = run("evaluate", str(none))
    assert r.returncode == 1 and "no project has a proposed_start" in r.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    assert run("evaluate", str(bad)).returncode == 2


def test_solve_writes_the_comparison(tmp_path):
    wb = write_workbook(proposal_instance(A=2026, C=2026), tmp_path / "p.xlsx")
    out = tmp_path / "out"
    r = run("solve", str(wb), "--out", str(out), "--no-sensitivity", "--workers", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["proposal"]["regret"] == pytest.approx(85)
    assert doc["proposal"]["only_in_plan"] == ["B"]
    assert "committee" in (out / "memo.md").read_text().lower()
