"""The plan's finance and concentration figures, and the stress test, checked by hand."""

from __future__ import annotations

import dataclasses

import pytest

from optimizer.analyses.stress import stress_test
from optimizer.instance import Mineral
from optimizer.portfolio import hhi, portfolio_finance
from optimizer.solve import solve
from test_model_hand import instance, project


def test_hhi_by_hand():
    """Shares 60/30/10: 3600 + 900 + 100 = 4600; one country: 10,000."""
    assert hhi({"A": 0.6, "B": 0.3, "C": 0.1}) == pytest.approx(4600)
    assert hhi({"A": 1.0}) == pytest.approx(10_000)


def test_country_capex_shares_leave_out_projects_without_capex():
    """KZ 300 and UA 100 of capex (the offtake with capex 0 in GE does not count):
    shares 0.75 / 0.25, HHI 5625 + 625 = 6250."""
    ps = [project("A", capex=300), dataclasses.replace(project("B", capex=100), country="UA"),
          dataclasses.replace(project("C", capex=0, kind="offtake"), country="GE")]
    inst = instance(ps, budget=1000)
    fin = portfolio_finance(inst, {"A": 2026, "B": 2026, "C": 2026})
    assert fin.country_capex_share == pytest.approx({"KZ": 0.75, "UA": 0.25})
    assert fin.capex_hhi == pytest.approx(6250)


def test_results_json_carries_the_finance_figures():
    """One project: capex 100 in 2026 (build 1), flows 60 and 60: IRR 13.07%, payback 2028,
    peak funding 100 in 2026."""
    p = dataclasses.replace(project("A", capex=100, build=1, npv=4.132231), cash_flows=(60.0, 60.0))
    inst = instance([p], budget=100, discount_rate=0.1)
    doc = solve(inst).to_json()
    assert doc["funded"][0]["irr"] == pytest.approx(0.1306624, abs=1e-6)
    assert doc["funded"][0]["payback_year"] == 2028
    assert doc["peak_funding_musd"] == pytest.approx(100) and doc["peak_funding_year"] == 2026
    assert doc["portfolio_irr"] == pytest.approx(0.1306624, abs=1e-6)
    assert doc["cash_flow_by_year"] == pytest.approx({"2026": -100, "2027": 60, "2028": 60})
    assert doc["capex_hhi"] == pytest.approx(10_000)


def test_stress_test_by_hand():
    """Demand 1000 t, China share 0.8, target 0.5 from 2027: 300 t must be displaced.
    A (KZ) and B (UA) deliver 200 t each from 2027: share 0.4 with both. Without UA: 800 - 200
    = 600 t exposed -> 0.6 > 0.5: the target breaks; without KZ the same."""
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=0.5)}
    a = project("A", capex=10, build=1, cap=200, npv=1)
    b = dataclasses.replace(project("B", capex=10, build=1, cap=200, npv=1), country="UA")
    inst = instance([a, b], budget=100, minerals=minerals, target_year=2027)
    result = solve(inst)
    assert set(result.starts) == {"A", "B"}
    rows = {r["country"]: r for r in stress_test(result).rows}
    assert rows["UA"]["china_share"] == pytest.approx(0.6) and rows["UA"]["holds"] is False
    assert rows["UA"]["planned_china_share"] == pytest.approx(0.4)
    assert rows["KZ"]["tonnes_lost"] == pytest.approx(200)
    worst = stress_test(result).worst()
    assert worst["targets_broken"] == 1
