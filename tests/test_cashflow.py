"""The one finance model, checked by hand: flows, IRR, payback, peak funding, and the rule for
capex draws, delays and losses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from optimizer.cashflow import (cash_flows, implied_level_flow, irr, npv_at_start,
                                operating_flows, payback_year, plan_flows)
from test_model_hand import instance, project


def test_irr_and_payback_by_hand():
    """Capex 100 in the start year 2026 (build 1), then 60 in 2027 and 2028.
    IRR: -100 + 60 x + 60 x^2 = 0 with x = 1/(1+r): x = (-60 + sqrt(3600 + 24000)) / 120
    = 0.8844373, r = 0.1306624. Cumulative -100, -40, +20: payback in 2028."""
    p = dataclasses.replace(project("A", capex=100, build=1, npv=0), cash_flows=(60.0, 60.0))
    inst = instance([p], budget=100, discount_rate=0.1)
    flows = cash_flows(p, inst.settings, 2026)
    assert list(flows.years) == [2026, 2027, 2028]
    assert flows.values[0].tolist() == pytest.approx([-100, 60, 60])
    assert irr(flows.values[0]).value == pytest.approx(0.1306624, abs=1e-7)
    assert payback_year(list(flows.years), flows.values[0]) == 2028
    # NPV at 10% valued at the start: -100 + 60/1.1 + 60/1.21 = 4.1322
    assert npv_at_start(p, inst.settings, 2026)[0] == pytest.approx(4.132231, abs=1e-6)


def test_implied_level_flow_by_hand():
    """Capex 100 spent evenly over 2 build years, NPV 50 at 10%, 3 operating years:
    50 = -100 (0.5 + 0.5/1.1) + A (1.1^-2 + 1.1^-3 + 1.1^-4) -> A = 145.4545 / 2.2608 = 64.338."""
    p = project("A", capex=100, build=2, npv=50, operating_years=3)
    inst = instance([p], budget=100, discount_rate=0.1)
    a = implied_level_flow(p, inst.settings)
    assert a == pytest.approx((50 + 100 * (0.5 + 0.5 / 1.1)) / (1.1 ** -2 + 1.1 ** -3 + 1.1 ** -4))
    assert a == pytest.approx(64.338, abs=1e-3)
    assert operating_flows(p, inst.settings) == (a, a, a)


@hsettings(max_examples=60, deadline=None, derandomize=True)
@given(capex=st.floats(0, 1000), npv=st.floats(-500, 500), build=st.integers(0, 4),
       rate=st.floats(0, 0.3), years=st.one_of(st.none(), st.integers(1, 20)),
       start=st.integers(2026, 2028))
def test_implied_flows_reproduce_npv_musd(capex, npv, build, rate, years, start):
    p = project("A", capex=capex, build=build, npv=npv, operating_years=years,
                start=(2026, 2028))
    inst = instance([p], budget=1000, horizon=10, discount_rate=rate)
    assert npv_at_start(p, inst.settings, start)[0] == pytest.approx(npv, rel=1e-9, abs=1e-9)


def test_an_offtake_paying_a_premium_has_no_irr_and_says_so():
    p = project("OFF", capex=0, build=0, npv=-20, kind="offtake", operating_years=5)
    inst = instance([p], budget=0, discount_rate=0.08)
    flows = cash_flows(p, inst.settings, 2026).values[0]
    assert (flows < 0).all()
    got = irr(flows)
    assert got.value is None and "all outflows" in got.reason
    assert payback_year(list(range(2026, 2031)), flows) is None


def test_irr_is_not_reported_when_not_unique():
    got = irr([-100, 230, -132])  # roots at 10% and 20%
    assert got.value is None and "2 times" in got.reason


def test_a_delay_moves_operating_flows_and_keeps_the_capital_schedule():
    p = dataclasses.replace(project("A", capex=100, build=1), cash_flows=(60.0, 60.0))
    s = instance([p], budget=100).settings
    late = cash_flows(p, s, 2026, delay=2)
    assert dict(zip(late.years, late.values[0])) == {2026: -100, 2027: 0, 2028: 0,
                                                     2029: 60, 2030: 60}


def test_a_loss_spends_that_years_capex_and_nothing_after():
    p = dataclasses.replace(project("A", capex=90, build=3), cash_flows=(50.0, 50.0, 50.0))
    s = instance([p], budget=100).settings
    lost = cash_flows(p, s, 2026, lost_year=2027)
    assert lost.values[0].tolist() == pytest.approx([-30, -30, 0, 0, 0, 0])
    in_operation = cash_flows(p, s, 2026, lost_year=2030)
    assert in_operation.values[0].tolist() == pytest.approx([-30, -30, -30, 50, 0, 0])


def test_draws_in_one_call_equal_one_call_each():
    p = dataclasses.replace(project("A", capex=100, high=140, build=2), cash_flows=(40.0,) * 6)
    s = instance([p], budget=100, discount_rate=0.07).settings
    capex, delay, lost = np.array([90.0, 120, 140]), np.array([0, 1, 3]), np.array([2040, 2029, 2027])
    together = npv_at_start(p, s, 2026, capex=capex, delay=delay, lost_year=lost)
    alone = [npv_at_start(p, s, 2026, capex=c, delay=d, lost_year=u)[0]
             for c, d, u in zip(capex, delay, lost)]
    assert together == pytest.approx(alone)


def test_capex_multiplier_lowers_npv_by_the_discounted_overrun():
    """A capex of 1.25 c instead of c lowers the NPV at the start by 0.25 c sum_o f[o] v^o."""
    p = project("A", capex=100, build=2, npv=30, operating_years=5)
    s = instance([p], budget=100, discount_rate=0.1).settings
    ops = operating_flows(p, s)
    changed = npv_at_start(p, s, 2026, capex=125.0, operating=ops)[0]
    assert changed == pytest.approx(30 - 25 * (0.5 + 0.5 / 1.1))


def test_plan_flows_and_peak_funding_by_hand():
    """A: -100 in 2026, +60 in 2027 and 2028. B: -50 in 2027, +10 in 2028..2029.
    Net: -100, +10, +70, +10; cumulative -100, -90, -20, -10: peak funding 100 in 2026."""
    a = dataclasses.replace(project("A", capex=100, build=1, start=(2026, 2027)),
                            cash_flows=(60.0, 60.0))
    b = dataclasses.replace(project("B", capex=50, build=1, start=(2026, 2027)),
                            cash_flows=(10.0, 10.0))
    inst = instance([a, b], budget=200)
    plan = plan_flows(inst, {"A": 2026, "B": 2027})
    assert plan.by_year == pytest.approx({2026: -100, 2027: 10, 2028: 70, 2029: 10})
    assert plan.peak_funding() == (pytest.approx(100), 2026)


@hsettings(max_examples=40, deadline=None, derandomize=True)
@given(rows=st.integers(1, 40), build=st.integers(0, 3), seed=st.integers(0, 1000),
       first=st.integers(2024, 2028))
def test_many_rows_in_one_call_equal_each_row_alone_exactly(rows, build, seed, first):
    """Operating flows are placed row by row up to FEW_ROWS rows and all at once beyond: either
    way each row is, bit for bit, the row the same draw gives alone (one row)."""
    rng = np.random.default_rng(seed)
    p = dataclasses.replace(project("A", capex=100, high=140, build=build),
                            cash_flows=tuple(rng.uniform(-20, 60, 7).round(3)) + (0.0, 5.0))
    s = instance([p], budget=100, discount_rate=0.07).settings
    capex = rng.uniform(90, 140, rows)
    delay = rng.integers(0, 4, rows)
    lost = rng.integers(2025, 2042, rows)
    together = cash_flows(p, s, 2026, capex=capex, delay=delay, lost_year=lost, first=first,
                          last=2040).values
    for i in range(rows):
        alone = cash_flows(p, s, 2026, capex=capex[i], delay=delay[i], lost_year=lost[i],
                           first=first, last=2040).values[0]
        assert together[i].tobytes() == alone.tobytes()
