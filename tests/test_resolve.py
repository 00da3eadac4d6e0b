"""The one re-solve path: options reach every re-solve, every analysis handles every outcome, and
independent re-solves run on any executor with the same answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import optimizer.solve as solve_module
from optimizer.analyses.frontier import budget_ladder, lexicographic
from optimizer.analyses.whynot import closeness
from optimizer.memo import build_document
from optimizer.pipeline import analyse
from optimizer.report_xlsx import build_workbook
from optimizer.resolve import Outcome, Parallel, SolveOptions, resolve, summary_row
from optimizer.solve import solve
from optimizer.solvers import RawSolve
from helpers import SERIAL, tradeoff_instance
from test_tradeoffs import pareto_instance


@pytest.fixture
def no_plan_in_time(monkeypatch):
    """From now on every solve reaches its time limit before any plan."""
    def stopped(m, solver, time_limit_s, mip_gap, threads=1, relaxed=False, **hand_over):
        return RawSolve("no_solution", None, None, time_limit_s, "HiGHS (test)")
    monkeypatch.setattr(solve_module, "run_solver", stopped)


def test_an_outcome_for_each_case():
    inst = pareto_instance()
    plan = resolve(inst)
    assert plan.status == "optimal" and plan.has_plan and plan.objective_value == pytest.approx(15)
    none = resolve(inst.with_budget({2026: 5.0}).with_settings(min_npv_musd=1.0))
    assert none.status == "infeasible" and not none.has_plan and none.reasons
    row = summary_row(none)
    assert row["status"] == "infeasible" and row["objective_value"] is None and row["note"]
    assert summary_row(plan)["funded_count"] == 2


def test_frontier_stage_with_no_plan_in_time_is_an_outcome_not_a_traceback(no_plan_in_time):
    """Before: lexicographic caught only InfeasibleError and the SolverError escaped."""
    out = lexicographic(pareto_instance(), "npv", "security", None)
    assert isinstance(out, Outcome) and out.status == "no_plan" and "time limit" in out.message


def test_budget_ladder_with_no_plan_in_time_shows_it(no_plan_in_time):
    """Before: the budget ladder caught only InfeasibleError and the SolverError escaped."""
    rows = budget_ladder(pareto_instance(), [10, 20], parallel=SERIAL).rows
    assert [r["status"] for r in rows] == ["no_plan", "no_plan"]
    assert all(r["objective_value"] is None and "time limit" in r["note"] for r in rows)


def test_closeness_uses_the_command_lines_solver_and_time_limit(monkeypatch):
    """Before: closeness read the workbook's solver settings and ignored the overrides."""
    import optimizer.analyses.whynot as whynot

    seen = []
    real = whynot.run_solver

    def spy(m, solver, time_limit_s, mip_gap, threads=1, relaxed=False, **hand_over):
        seen.append((solver, time_limit_s))
        return real(m, solver, time_limit_s, mip_gap, threads, relaxed=relaxed, **hand_over)

    monkeypatch.setattr(whynot, "run_solver", spy)
    result = solve(pareto_instance())
    assert result.instance.settings.solver == "highs"
    closeness(result, ["C", "D"], SolveOptions(solver="cbc", time_limit_s=7.0))
    assert seen == [("cbc", 7.0), ("cbc", 7.0)]


def test_every_analysis_with_no_plan_in_time_shows_it_in_memo_and_workbook(monkeypatch):
    """Every analysis runs with every re-solve stopped by its time limit: no traceback; the
    memo and the workbook say so."""
    base = solve(tradeoff_instance())
    stopped = RawSolve("no_solution", None, None, 0.001, "HiGHS (test)")
    monkeypatch.setattr(solve_module, "run_solver", lambda *a, **k: stopped)
    done = analyse(base, SolveOptions(time_limit_s=0.001), SERIAL, sensitivity=True,
                   frontier_points=3, alternatives=2, simulate_draws=100)
    a = done.analyses
    assert {r["status"] for r in a.sensitivity.rows if r["budget_change"]} == {"no_plan"}
    assert [r["status"] for r in a.scenarios.rows][1:] == ["no_plan"] * len(base.instance.scenarios)
    assert {r["status"] for r in a.budget_ladder.rows} == {"no_plan"}
    assert a.frontier.points == () and "time limit" in a.frontier.note
    assert a.alternatives.rows == () and "time limit" in a.alternatives.note
    assert a.robust.rows[0]["status"] == "no_plan"
    forced = [r for r in a.why_not.reasons.values() if r["kind"] == "forced_no_plan"]
    assert forced and all("time limit" in r["reason"] for r in forced)
    memo = " ".join(str(b) for s in build_document(done).sections for b in s.blocks)
    assert "time limit" in memo and "no plan in the time limit" in memo and "no_plan" not in memo
    book = build_workbook(done)
    statuses = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
    assert "no_plan" in statuses


def test_a_real_tiny_time_limit_gives_no_traceback():
    base = solve(tradeoff_instance())
    done = analyse(base, SolveOptions(time_limit_s=0.001), SERIAL, frontier_points=3,
                   alternatives=1)
    assert done.analyses.sensitivity is not None and done.analyses.frontier is not None
    build_document(done)
    build_workbook(done)


def test_any_executor_gives_the_local_pools_answers():
    base = solve(tradeoff_instance())
    local = analyse(base, parallel=SERIAL, frontier_points=3)
    with ThreadPoolExecutor(max_workers=2) as pool:
        other = analyse(base, parallel=Parallel(executor=pool, progress=False), frontier_points=3)
    assert other.analyses.tables() == local.analyses.tables()



def test_a_resolve_stopped_at_its_time_limit_says_so_with_its_gap():
    """The row of a plan not proven optimal names the time limit and the gap (1.23%); CBC,
    which reports no gap, says it is unknown; a proven optimum has no note."""
    from dataclasses import replace

    from helpers import make_result

    proven = make_result()
    assert summary_row(proven)["note"] == ""
    stopped = replace(proven, info=replace(proven.info, status="feasible", mip_gap=0.0123))
    note = summary_row(Outcome("feasible", result=stopped))["note"]
    assert "time limit" in note and "1.23%" in note
    cbc = replace(stopped, info=replace(stopped.info, mip_gap=None))
    assert "gap unknown" in summary_row(Outcome("feasible", result=cbc))["note"]
