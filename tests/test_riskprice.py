"""What would raise the chance of meeting every target (``analyses/reach.py``), measured.

Hand-checked cases: one mineral Sb (demand 1000 t, China share 0.8: 800 t exposed), a horizon
of 2026 (and 2027 where said), no capex, no delays. A (300 t) is in country R1, lost in a year
with probability 0.5; B (100 t) in country R2, with probability 0.1; a project lost in a year
delivers nothing from that year. So in 2026 the China share is (800 - 400)/1000 = 0.4 with both
(probability 0.45), 0.5 with A alone (0.05), 0.7 with B alone (0.45), 0.8 with neither (0.05):
P(share <= 0.5) = 0.5 and P(share <= 0.7) = 0.95, so the share kept to in 80% of futures is 0.7.
Every probability is also recomputed draw by draw from the seeded draws
(``draws.Sampler.future``), independently of the vectorized simulation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from optimizer.analyses.reach import (CONFIDENCE, Reach, level_at, risk_aware_row, share_draws,
                                      what_raises_the_chance)
from optimizer.analyses.simulate import ALL_TARGETS_EVENT, simulate
from optimizer.draws import Sampler
from optimizer.instance import Country, Instance, Mineral, Project, Settings
from optimizer.solve import solve

DRAWS = 4_000
EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "central_asia_refining.xlsx"


def two_countries(target: float = 0.6, horizon: int = 1) -> Instance:
    s = Settings(first_year=2026, horizon_years=horizon, discount_rate=0.0, objective="npv",
                 capex_basis="low", mip_gap=0.0, delay_probability=0.0, target_year=2026,
                 seed=7)
    projects = [Project(pid, pid, "plant", "Sb", country, 0.0, 0.0, 0, 2026, 2026, cap, npv)
                for pid, country, cap, npv in (("A", "R1", 300.0, 10.0), ("B", "R2", 100.0, 5.0))]
    return Instance(s, {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=target)},
                    {p.project_id: p for p in projects}, {t: 100.0 for t in s.years},
                    countries={"R1": Country("R1", loss_probability=0.5),
                               "R2": Country("R2", loss_probability=0.1)})


def delivered_share(instance: Instance, year: int, draws: int = DRAWS) -> np.ndarray:
    """The China share of Sb in ``year``, draw by draw from ``Sampler.future`` (A and B funded
    in 2026, delivering from 2026 until lost)."""
    sampler = Sampler(instance)
    out = []
    for i in range(draws):
        future = sampler.future(i)
        tonnes = sum(p.capacity_tpa for pid, p in instance.projects.items()
                     if (lost := future.lost_year(instance, pid, 2026)) is None or lost > year)
        out.append((800.0 - tonnes) / 1000.0)
    return np.array(out)


def test_the_level_kept_to_in_80_percent_is_an_order_statistic():
    """ceil(0.8 x 10) = 8th smallest of 0.01..0.10 is 0.08; with 7 draws at 0.2 and 3 at 0.5,
    P(<= 0.2) = 0.7 < 0.8, so the level is 0.5."""
    assert level_at(np.arange(1, 11) / 100) == pytest.approx(0.08)
    assert level_at(np.array([0.2] * 7 + [0.5] * 3)) == 0.5
    assert level_at(np.array([0.3])) == 0.3


def test_levels_and_later_years_by_hand():
    """See the module docstring: the level is 0.7; P(met at 0.6) is the share of draws with A,
    about 0.5; at 0.7 about 0.95. In 2027 A is still there with probability 0.25 and B with
    0.81: the same plan meets 0.6 in 2027 in about 25% of the draws."""
    inst = two_countries(horizon=2)
    result = solve(inst)
    assert set(result.starts) == {"A", "B"}
    reach = what_raises_the_chance(result, DRAWS)
    level = reach.levels[0]
    truth_2026, truth_2027 = delivered_share(inst, 2026), delivered_share(inst, 2027)
    assert level["china_share_p80"] == pytest.approx(0.7)
    assert level["p_met"] == pytest.approx(np.mean(truth_2026 <= 0.6 + 1e-9))
    assert level["p_met"] == pytest.approx(0.5, abs=0.03)
    assert level["p_met_at_p80"] == pytest.approx(np.mean(truth_2026 <= 0.7 + 1e-9))
    rows = {r["lever"] + str(r["target_year"]): r for r in reach.rows}
    assert rows["as planned2026"]["p_targets_met"] == pytest.approx(level["p_met"])
    assert rows["target level2026"]["p_targets_met"] == pytest.approx(level["p_met_at_p80"])
    assert rows["target year2027"]["p_targets_met"] == pytest.approx(
        np.mean(truth_2027 <= 0.6 + 1e-9))
    assert rows["target year2027"]["p_targets_met"] == pytest.approx(0.25, abs=0.03)
    assert rows["as planned2026"]["p_targets_met"] == simulate(result, DRAWS).p_all_targets_met


def test_budget_plans_are_simulated_on_the_same_draws():
    """A target of 0.75 needs 50 t: met when A or B is there (probability 1 - 0.5 x 0.1 = 0.95).
    A +10% plan funding B alone meets it when B is there (0.9), counted on the same draws as the
    simulation of that plan; a +20% budget without a plan is a row without a chance; +30% not
    given is no row."""
    inst = two_countries(target=0.75)
    result = solve(inst)
    b_only = solve(inst.with_projects({"B": inst.projects["B"]}))
    reach = what_raises_the_chance(result, DRAWS, budget_plans={0.1: b_only, 0.2: None})
    budget = [r for r in reach.rows if r["lever"] == "budget"]
    assert [r["budget_change"] for r in budget] == [0.1, 0.2]
    assert budget[0]["p_targets_met"] == simulate(b_only, DRAWS).p_all_targets_met
    assert budget[0]["p_targets_met"] == pytest.approx(0.9, abs=0.02)
    assert reach.rows[0]["p_targets_met"] == pytest.approx(0.95, abs=0.02)
    assert budget[1]["p_targets_met"] is None and "no plan" in budget[1]["note"]


def test_the_risk_aware_plan_is_checked_only_below_the_bar_and_said_plainly():
    """Expected deliveries of A and B: 0.5 x 300 + 0.9 x 100 = 240 t. A target of 0.55 needs
    250 t: no risk-aware plan, the lowest share reachable (800 - 240)/1000 = 56.0%. A target of
    0.6 needs 200 t: one exists (both projects), with the plan's chance. Above the bar nothing is
    solved."""
    short = solve(two_countries(target=0.55))
    row = risk_aware_row(short, DRAWS, 0.45)
    assert row["p_targets_met"] is None
    assert row["note"].startswith("does not exist with these figures: Sb: the China-share "
                                  "target of 55.0% is out of reach in 2026 (1 year); the "
                                  "lowest China share reachable there is 56.0%")
    fine = solve(two_countries(target=0.6))
    row = risk_aware_row(fine, DRAWS, 0.5)
    assert row["note"].startswith("exists")
    assert row["p_targets_met"] == pytest.approx(share_draws(fine, DRAWS).p_all(2026))
    assert risk_aware_row(fine, DRAWS, CONFIDENCE)["note"].startswith("not checked")


def test_the_memo_says_what_would_raise_the_chance():
    """Rows as results.json holds them: the memo names each lever with its measured chance and
    says plainly that the risk-aware plan does not exist, and which lever comes closest."""
    from helpers import make_tradeoff_result
    from optimizer.memo import build_document
    from optimizer.outputs import read_analyses

    result = make_tradeoff_result()
    tables = dict(result.analyses.tables())
    tables["simulation_risks"] = [{"event": ALL_TARGETS_EVENT, "probability": 0.33}]
    tables["simulation_targets"] = [{"mineral": "Sb", "target_china_share": 0.3,
                                     "target_year": 2030, "p_met": 0.33,
                                     "p_met_all_years": 0.2}]
    reach = Reach(
        rows=({"lever": "as planned", "change": "as set", "target_year": 2030,
               "p_targets_met": 0.33},
              {"lever": "target level", "change": "80% levels", "target_year": 2030,
               "p_targets_met": 0.74},
              {"lever": "target year", "change": "2031", "target_year": 2031,
               "p_targets_met": 0.41},
              {"lever": "budget", "change": "+10%", "target_year": 2030, "budget_change": 0.1,
               "p_targets_met": 0.52},
              {"lever": "risk-aware plan", "change": "expected", "target_year": 2030,
               "p_targets_met": None,
               "note": "does not exist with these figures: Sb: out of reach in 2032"}),
        levels=({"mineral": "Sb", "target_china_share": 0.3, "p_met": 0.33,
                 "china_share_p80": 0.35, "p_met_at_p80": 0.8},))
    tables.update(reach.tables())
    doc = build_document(dataclasses.replace(result, analyses=read_analyses(tables)))
    text = " ".join(getattr(b, "text", "") for s in doc.sections if s.key == "simulation"
                    for b in s.blocks)
    assert "Reaching more takes more budget" not in text
    assert ("the plan keeps the China share of Sb at or below 35.0% (target 30.0%); with that "
            "target set there, every target is met together in 74.0% of them") in text
    assert "the same plan meets every target in 2031 in 41.0% of the futures" in text
    assert "every budget 10% higher meet every target in 52.0% of the futures" in text
    assert ("A risk-aware plan, one that meets every target with its expected deliveries "
            "(risk_adjusted), does not exist with these figures: Sb: out of reach in 2032.") in text
    assert "None of these alone reaches 80.0%; the most is 74.0%, with the targets at those " \
           "levels." in text
    table = next(b for s in doc.sections if s.key == "simulation" for b in s.blocks
                 if getattr(b, "caption", "").startswith("Chance that the plan meets every"))
    assert [row[2] for row in table.rows] == ["33.0%", "74.0%", "41.0%", "52.0%",
                                              "does not exist"]


# ---------------------------------------------------------------- the bundled example

@pytest.fixture(scope="module")
def example_reach():
    from optimizer.validate import load_instance

    result = solve(load_instance(EXAMPLE))
    return result, what_raises_the_chance(result, 2_000)


def test_the_example_cannot_reach_the_bar_and_says_why(example_reach):
    """The example's plan meets every target in 2035 in about a third of the futures; no
    risk-aware plan exists (graphite's 40% target is out of reach under expected deliveries);
    the levels the plan keeps to in 80% of futures are above the targets it misses more often,
    and setting them raises the joint chance; the as-planned chance is the simulation's own."""
    result, reach = example_reach
    rows = {(r["lever"], r["target_year"]): r for r in reach.rows}
    plan = rows["as planned", 2035]["p_targets_met"]
    assert plan == simulate(result, 2_000).p_all_targets_met
    assert 0.2 < plan < CONFIDENCE
    aware = rows["risk-aware plan", 2035]
    assert aware["p_targets_met"] is None
    assert aware["note"].startswith("does not exist with these figures: graphite:")
    for level in reach.levels:
        assert (level["china_share_p80"] > level["target_china_share"]) == (level["p_met"] < 0.8)
        assert level["p_met_at_p80"] >= CONFIDENCE
    assert rows["target level", 2035]["p_targets_met"] > plan
    assert [y for lever, y in rows if lever == "target year"] == list(range(2036, 2041))


def test_results_json_and_xlsx_hold_the_levers(example_reach, tmp_path):
    """results.json lists ``reach`` and ``reach_levels`` and reads them back as a Reach; the
    workbook has a sheet for each, headed in words."""
    from optimizer.outputs import read_analyses
    from optimizer.report_xlsx import build_workbook

    result, reach = example_reach
    result = dataclasses.replace(result, analyses=dataclasses.replace(result.analyses,
                                                                      reach=reach))
    doc = result.to_json()
    assert {"reach", "reach_levels"} <= set(doc["analyses"])
    back = read_analyses(doc)
    assert isinstance(back.reach, Reach) and back.reach.rows == tuple(reach.tables()["reach"])
    wb = build_workbook(result)
    headers = {ws.title: [c.value for c in next(ws.iter_rows(max_row=1))]
               for ws in wb.worksheets if ws.title.startswith("Reach")}
    assert headers["Reach"] == ["What changes", "Change", "Target year", "Budget change (%)",
                                "Probability all targets met", "Note"]
    assert "China share kept to in 80% of futures" in headers["Reach levels"]
