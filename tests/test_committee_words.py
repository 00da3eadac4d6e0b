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


def test_page_one_gives_security_value_fragility_and_concentration():
    """The recommendation's second paragraph: security in share-years and in money, what breaks
    the plan (a scenario without a plan, a budget cut without a plan) and the concentration."""
    import dataclasses

    from helpers import make_tradeoff_result
    from optimizer.memo import build_document
    from optimizer.outputs import read_analyses

    result = make_tradeoff_result()
    tables = dict(result.analyses.tables())
    tables["sensitivity"] = [{"budget_change": -0.3, "status": "infeasible"},
                             {"budget_change": -0.2, "status": "infeasible"},
                             {"budget_change": -0.1, "status": "optimal"}]
    result = dataclasses.replace(result, analyses=read_analyses(tables))
    text = build_document(result).sections[0].blocks[1].text
    assert "The plan's security value:" in text and "share-years" in text
    assert "'very costly'" in text and "a budget cut of 20.0%" in text
    assert "concentration index (HHI of capex by country)" in text


def test_small_shortfalls_keep_their_precision():
    """'short by up to 0 t' is wrong: a shortfall below the shown precision keeps 3 digits."""
    from optimizer.families import amount, describe_target
    from optimizer.instance import Mineral
    from test_model_hand import instance

    assert amount(0.004) == "0.004" and amount(1234.56) == "1,234.6"
    assert amount(0.3, 0) == "0.3" and amount(8452.2, 0) == "8,452"
    inst = instance([], budget=0, minerals={"Ga": Mineral("Ga", 20.0, 0.9,
                                                          target_china_share=0.5)})
    text = describe_target(inst, [(("Ga", 2030), 0.25)])[0]
    assert "a shortfall of up to 0.25 t a year" in text
    assert "the lowest China share reachable there is 51.2%" in text  # 0.5 + 0.25 / 20


def test_the_memo_says_country_delays_override_the_settings():
    import dataclasses

    from helpers import make_tradeoff_result
    from optimizer.memo import build_document
    from optimizer.outputs import read_analyses

    result = make_tradeoff_result()
    tables = dict(result.analyses.tables())
    tables["simulation_countries"] = [{"country": "KZ", "loss_probability": 0.01,
                                       "funded_projects": 2, "p_event_by_horizon_end": 0.05,
                                       "mean_projects_lost": 0.1}]
    doc = build_document(dataclasses.replace(result, analyses=read_analyses(tables)))
    text = " ".join(getattr(b, "text", "") for s in doc.sections if s.key == "simulation"
                    for b in s.blocks)
    assert "Settings' defaults: the Countries sheet" in text
    plain = build_document(make_tradeoff_result())
    assert "Settings' defaults" not in " ".join(
        getattr(b, "text", "") for s in plain.sections for b in s.blocks)
