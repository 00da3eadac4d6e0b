"""Sentences a committee reads as written English."""

from __future__ import annotations

from optimizer.memo.sections.rejected import what_a_billion_buys


def test_infeasible_budget_steps_get_their_own_sentence():
    rows = [{"budget_change": -0.3, "status": "infeasible", "objective_per_extra_busd": None},
            {"budget_change": -0.1, "status": "optimal", "objective_per_extra_busd": 40.0},
            {"budget_change": 0.1, "status": "no_plan", "objective_per_extra_busd": None}]
    text = what_a_billion_buys(rows, "npv")
    assert "each $1B cut lowers it by $40.0M at -10%" in text
    assert "With the budgets changed by -30%, no plan keeps every rule." in text
    assert "re-solve found no plan within its time limit" in text
    assert "cut no plan" not in text and "each extra $1B the" not in text


def test_only_infeasible_steps_read_as_a_sentence():
    rows = [{"budget_change": -0.3, "status": "infeasible", "objective_per_extra_busd": None},
            {"budget_change": -0.2, "status": "infeasible", "objective_per_extra_busd": None}]
    assert what_a_billion_buys(rows, "npv") == ("With the budgets changed by -30% or -20%, no "
                                               "plan keeps every rule.")
