"""Sampled futures (optimizer/analyses/futures.py): how a future changes the workbook, the
re-solve of each future, what is reported, and where it shows (results.json, results.xlsx, memo).

Units: $M, calendar years, fractions."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings, strategies as st

from optimizer.analyses import Analyses
from optimizer.analyses.futures import (CORE_SHARE, Futures, FutureRow, binomial_se,
                                        failing_rule, future_instance, future_task, known_project,
                                        sample_futures, summary_lines)
from optimizer.cashflow import cash_flows
from optimizer.draws import Future, ProjectDraw, Sampler
from optimizer.evaluate import allowed_starts
from optimizer.instance import Country, Instance, Mineral, Project, Settings
from optimizer.memo.content import build_document
from optimizer.memo.markdown import render_markdown
from optimizer.outputs import read_analyses
from optimizer.report_xlsx import build_workbook
from optimizer.resolve import Parallel, SolveOptions, resolve
from optimizer.risk import deliveries_by_year
from optimizer.solve import solve

from helpers import SERIAL


def settings_of(**changes) -> Settings:
    values = dict(first_year=2026, horizon_years=10, discount_rate=0.10, objective="npv",
                  capex_basis="mid", delay_probability=0.0, max_delay_years=0, seed=7)
    return Settings(**{**values, **changes})


def instance_of(projects: dict[str, Project], budget: dict[int, float] | float = 1000.0,
                countries: dict[str, Country] | None = None, **setting_changes) -> Instance:
    s = settings_of(**setting_changes)
    if not isinstance(budget, dict):
        budget = {t: float(budget) for t in s.years}
    minerals = {"gallium": Mineral("gallium", us_demand_t=100.0, china_share=0.9)}
    return Instance(settings=s, minerals=minerals, projects=projects,
                    budget={t: budget.get(t, 0.0) for t in s.years}, countries=countries or {},
                    name="tiny")


def project(pid: str, **fields) -> Project:
    values = dict(name=f"Project {pid}", kind="plant", mineral="gallium", country="Peru",
                  capex_low_musd=100.0, capex_high_musd=100.0, build_years=0,
                  earliest_start=2026, latest_start=2026, capacity_tpa=10.0, npv_musd=50.0)
    return Project(pid, **{**values, **fields})


def draw(capex: float, delay: int = 0, loss: int | None = None) -> ProjectDraw:
    return ProjectDraw(capex_uniform=0.5, capex_musd=capex, capex_multiplier=1.0, delay=delay,
                       loss_offset=loss)


# ---------------------------------------------------------------------------------------------
# One project in one future (hand-checked)


def test_capex_and_delay_follow_the_cash_flow_rule():
    """Capex 100..200 (basis 150), drawn 180; build 2 years, spending 50% / 50%; operating flows
    100 a year for 3 years; rate 10%; 1 year late.

    Known: capex 180 in both years (low = high = 180), build 3 with the schedule kept, so the
    flows at the start are -90, -90, 0, +100, +100, +100 and the NPV at the start is
    -90 - 90/1.1 + 100 (1.1^-3 + 1.1^-4 + 1.1^-5) = -171.8182 + 75.1315 + 68.3013 + 62.0921
    = 33.7067 $M."""
    p = project("A", capex_low_musd=100.0, capex_high_musd=200.0, build_years=2,
                earliest_start=2026, latest_start=2028, cash_flows=(100.0, 100.0, 100.0))
    inst = instance_of({"A": p})
    known, narrowed = known_project(inst, "A", 180.0, 1, None, None)
    assert not narrowed
    assert (known.capex_low_musd, known.capex_high_musd, known.build_years) == (180.0, 180.0, 3)
    assert known.spend_shares == (0.5, 0.5)
    assert (known.earliest_start, known.latest_start) == (2026, 2028)
    assert known.npv_musd == pytest.approx(33.7067, abs=1e-4)
    assert (known.loss_probability, known.delay_probability, known.max_delay_years) == (0, 0, 0)


def test_an_own_loss_cuts_the_life_short_and_keeps_the_capex_spent():
    """Build 1, capex 100 spent 25% a year over 4 years (the profile runs past the build), five
    operating years of 40. Lost 2 years after its start: capex of offsets 0..2 is spent (75),
    on the same schedule (1/3 each of 75), and it operates in offset 1 only (2 - 1 = 1 year)."""
    p = project("A", build_years=1, capex_profile=(0.25, 0.25, 0.25, 0.25), operating_years=5,
                cash_flows=(40.0,) * 5, latest_start=2028)
    inst = instance_of({"A": p})
    known, narrowed = known_project(inst, "A", 100.0, 0, 2, None)
    assert not narrowed
    assert known.capex_low_musd == pytest.approx(75.0)
    assert known.spend_shares == pytest.approx((1 / 3, 1 / 3, 1 / 3, 0.0))
    assert known.cash_flows == (40.0,) and known.operating_years == 1
    assert deliveries_by_year(dataclasses.replace(inst, projects={"A": known}), "A", 2027) \
        == {2028: 10.0}  # online 2028 (start 2027 + 1), lost in 2029


@pytest.mark.parametrize("loss, delay", [(0, 0), (1, 0), (2, 1)])
def test_a_project_lost_before_it_comes_online_is_known_lost(loss, delay):
    """Build 1 (online at offset 1, or 2 when a year late): lost at offset <= online, it never
    operates, so it is not offered."""
    p = project("A", build_years=1, latest_start=2028)
    assert known_project(instance_of({"A": p}), "A", 100.0, delay, loss, None) == (None, False)


def test_a_country_event_in_the_horizon_pins_the_start_and_ends_the_life():
    """Deliveries run to the horizon end (2035), so an event in 2033 touches every start: only
    the earliest (2026) is offered, lost 7 years after it; build 2, so 5 operating years."""
    p = project("A", build_years=2, latest_start=2030, capex_profile=(0.5, 0.5))
    known, narrowed = known_project(instance_of({"A": p}), "A", 100.0, 0, None, 2033)
    assert narrowed
    assert (known.earliest_start, known.latest_start) == (2026, 2026)
    assert known.operating_years == 5 and len(known.cash_flows) == 5


def test_a_country_event_after_the_flows_of_the_early_starts_narrows_the_window():
    """Build 2, 5 operating years of flows and deliveries: started in t, its last flow is in
    t + 6. An event in 2034 leaves starts 2026..2027 untouched (t + 6 < 2034); 2028..2030 are not
    offered. Nothing else changes."""
    p = project("A", build_years=2, latest_start=2030, operating_years=5, cash_flows=(20.0,) * 5,
                capex_profile=(0.5, 0.5))
    known, narrowed = known_project(instance_of({"A": p}), "A", 100.0, 0, None, 2034)
    assert narrowed
    assert (known.earliest_start, known.latest_start) == (2026, 2027)
    assert known.cash_flows == (20.0,) * 5 and known.operating_years == 5


def test_an_event_before_the_earliest_start_loses_the_project():
    p = project("A", earliest_start=2028, latest_start=2030)
    assert known_project(instance_of({"A": p}), "A", 100.0, 0, None, 2027) == (None, False)


def test_a_lost_project_takes_its_dependants_and_releases_a_must_fund():
    """B requires A; A (must fund) is in Chile, whose event comes in the first year: A and B are
    known lost, A is released, C stays."""
    projects = {"A": project("A", country="Chile", must_fund=True),
                "B": project("B", requires=("A",)), "C": project("C")}
    inst = instance_of(projects, countries={"Chile": Country("Chile", loss_probability=0.5)})
    future = Future(0, {pid: draw(100.0) for pid in projects}, {"Chile": 2026, "Peru": None})
    known = future_instance(inst, future)
    assert (known.lost, known.released) == (("A", "B"), ("A",))
    assert list(known.instance.projects) == ["C"]
    assert known.instance.countries["Chile"].loss_probability == 0.0


@settings(max_examples=150, deadline=None)
@given(build=st.integers(0, 3), extra_spend=st.integers(0, 2), n_ops=st.integers(1, 6),
       operating=st.one_of(st.none(), st.integers(1, 8)), earliest=st.integers(2026, 2030),
       width=st.integers(0, 4), delay=st.integers(0, 3),
       loss=st.one_of(st.none(), st.integers(0, 14)),
       event=st.one_of(st.none(), st.integers(2024, 2050)), capex=st.floats(0.0, 500.0),
       flows=st.lists(st.floats(-50.0, 80.0), min_size=6, max_size=6))
def test_every_start_offered_is_valued_exactly_as_the_rule_says(build, extra_spend, n_ops,
                                                                operating, earliest, width, delay,
                                                                loss, event, capex, flows):
    """For random projects and futures, at every start the changed project offers, its capital
    and operating flows (cashflow.cash_flows), its deliveries and its NPV equal those of the
    workbook's project under the rule: capex ``capex``, ``delay`` years late, lost in
    min(start + loss, event). A project not offered delivers and earns nothing at any start."""
    spend_years = max(build, 1) + extra_spend
    shares = tuple(np.full(spend_years, 1.0 / spend_years))
    p = project("A", capex_low_musd=50.0, capex_high_musd=150.0, build_years=build,
                earliest_start=earliest, latest_start=earliest + width, capex_profile=shares,
                operating_years=operating, cash_flows=tuple(flows[:n_ops]))
    inst = instance_of({"A": p}, horizon_years=15)
    s = inst.settings
    known, _narrowed = known_project(inst, "A", capex, delay, loss, event)
    original = allowed_starts(inst, "A")

    def lost_year(start: int) -> int | None:
        years = [y for y in (None if loss is None else start + loss, event) if y is not None]
        return min(years) if years else None

    def rule_deliveries(start: int) -> dict[int, float]:
        online = start + build + delay
        end = s.last_year if operating is None else online + operating - 1
        u = lost_year(start)
        return {t: p.capacity_tpa for t in range(online, end + 1)
                if t <= s.last_year and (u is None or t < u)}

    if known is None:
        for start in original:
            flows_rule = cash_flows(p, s, start, capex=capex, delay=delay,
                                    lost_year=lost_year(start))
            online_offset = start + build + delay - flows_rule.first
            assert not np.any(flows_rule.values[0, online_offset:] > 0) or \
                not any(flows[:n_ops])
            assert rule_deliveries(start) == {}
        return
    changed = dataclasses.replace(inst, projects={"A": known})
    offered = allowed_starts(changed, "A")
    assert offered and set(offered) <= set(original) and offered[0] == original[0]
    for start in offered:
        last = start + 40
        ours = cash_flows(known, s, start, last=last)
        rule = cash_flows(p, s, start, capex=capex, delay=delay, lost_year=lost_year(start),
                          last=last)
        np.testing.assert_allclose(ours.values, rule.values, atol=1e-9)
        assert deliveries_by_year(changed, "A", start) == rule_deliveries(start)
        assert known.npv_musd == pytest.approx(float(rule.npv(s.discount_rate, start)[0]),
                                               abs=1e-9)


# ---------------------------------------------------------------------------------------------
# The re-solves


def budget_case() -> Instance:
    """A: capex 100..300 (basis 200, the mode), NPV 400 at the basis; B: capex 50, NPV 30; C:
    capex 10, NPV -5; D: no capex, NPV 10. Everything is spent in the start year, 2026 only;
    the 2026 budget is 250.

    In a future with A's capex drawn at c, A's NPV is 400 - (c - 200) (spent in the start year,
    undiscounted at the start), at least 350. So A is funded exactly when it fits, c <= 250;
    B exactly when it fits beside A (c <= 200) or A does not fit (c > 250); C never (negative
    NPV); D always. Triangular(100, 200, 300) puts half the draws at or below 200 and 1/8 above
    250."""
    projects = {"A": project("A", capex_low_musd=100.0, capex_high_musd=300.0, npv_musd=400.0),
                "B": project("B", capex_low_musd=50.0, capex_high_musd=50.0, npv_musd=30.0),
                "C": project("C", capex_low_musd=10.0, capex_high_musd=10.0, npv_musd=-5.0),
                "D": project("D", kind="offtake", capex_low_musd=0.0, capex_high_musd=0.0,
                             npv_musd=10.0)}
    return instance_of(projects, budget={2026: 250.0})


@pytest.fixture(scope="module")
def budget_result():
    return solve(budget_case())


@pytest.fixture(scope="module")
def budget_futures(budget_result):
    return sample_futures(budget_result, 40, parallel=SERIAL)


def test_a_project_is_funded_exactly_in_the_futures_whose_capex_fits(budget_result,
                                                                    budget_futures):
    sampler = Sampler(budget_result.instance, seed=7)
    capex = [sampler.future(i).projects["A"].capex_musd for i in range(40)]
    fits = [c <= 250.0 + 1e-6 for c in capex]
    beside = [c <= 200.0 + 1e-6 for c in capex]
    assert 0 < fits.count(False) and 5 < sum(beside) < 35  # every kind of future occurs
    for row, fit, with_b in zip(budget_futures.rows, fits, beside):
        assert ("A" in row.funded) == fit, row
        assert ("B" in row.funded) == (with_b or not fit), row
        assert "C" not in row.funded and "D" in row.funded
    shares = {p.project_id: p for p in budget_futures.projects}
    assert shares["A"].funded == sum(fits) and shares["A"].share == sum(fits) / 40
    assert shares["A"].standard_error == pytest.approx(
        math.sqrt(shares["A"].share * (1 - shares["A"].share) / 40))
    assert [p.verdict for p in budget_futures.projects] == [
        "core" if sum(fits) >= 36 else "bet", "bet", "never", "core"]
    assert budget_futures.no_plan == 0


def test_each_future_is_reproducible_from_the_seed_and_its_index(budget_result,
                                                                 budget_futures):
    inst = budget_result.instance
    assert sample_futures(budget_result, 40, parallel=SERIAL) == budget_futures
    assert future_task(inst, 17, 7) == budget_futures.rows[17]  # alone, out of order
    two = sample_futures(budget_result, 40, parallel=Parallel(workers=2, progress=False))
    assert two == budget_futures
    other = sample_futures(budget_result, 40, parallel=SERIAL, seed=8)
    assert [r.funded for r in other.rows] != [r.funded for r in budget_futures.rows]


def test_a_future_without_a_plan_names_the_rule_that_fails():
    """A must be funded, but its capex (100..300) is above the 2026 budget of 200 whenever the
    draw exceeds 200. The elastic solve either exceeds the budget by (c - 200), scaled slack
    (c - 200) / 200 <= 0.5, or leaves the must-fund row short by 1 (scale 1): it names the
    budget. No plan in those futures, a plan (A alone) in the others."""
    projects = {"A": project("A", capex_low_musd=100.0, capex_high_musd=300.0, must_fund=True)}
    inst = instance_of(projects, budget={2026: 200.0})
    result = solve(inst)
    futures = sample_futures(result, 30, parallel=SERIAL)
    sampler = Sampler(inst, seed=7)
    over = [sampler.future(i).projects["A"].capex_musd > 200.0 + 1e-6 for i in range(30)]
    assert 3 < sum(over) < 27
    for row, too_dear in zip(futures.rows, over):
        assert row.has_plan == (not too_dear)
        assert row.rule == ("budget" if too_dear else None)
        assert row.status == ("infeasible" if too_dear else "optimal")
    assert futures.no_plan_share == sum(over) / 30
    assert futures.rules == {"budget": sum(over)}
    # A at 200: a budget of 150 is short by 50/150 = 0.33 of itself, less than the must-fund
    # row's 1; a budget of 50 would be short by 150/50 = 3, so dropping A is the smaller breach.
    fixed = {"A": dataclasses.replace(projects["A"], capex_low_musd=200.0,
                                      capex_high_musd=200.0)}
    assert failing_rule(instance_of(fixed, budget={2026: 150.0})) == "budget"
    assert failing_rule(instance_of(fixed, budget={2026: 50.0})) == "must_fund"
    tables = futures.tables()
    assert tables["futures_no_plan"][0]["rule"] == "the yearly budgets"
    assert tables["futures"]["no_plan_rules"] == {"budget": sum(over)}


def test_the_tables_keep_the_contract_and_read_back(budget_result, budget_futures):
    tables = json.loads(json.dumps(budget_futures.tables()))
    summary = tables["futures"]
    assert summary["draws"] == 40 and summary["no_plan_share"] == 0.0
    assert set(summary["funded_share"]) == {"A", "B", "C", "D"}
    assert summary["robust_core"] == ["D"] and summary["never_chosen"] == ["C"]
    dist = summary["objective_distribution"]
    assert dist["p10"] <= dist["p50"] <= dist["p90"]
    assert Futures.from_tables(tables) == budget_futures
    doc = {**tables, "analyses": sorted(tables)}
    assert read_analyses(doc).futures == budget_futures
    assert read_analyses(doc).extra == {}


def test_binomial_standard_error():
    """p = 0.3 of 100: sqrt(0.3 x 0.7 / 100) = 0.0458258; 0 and 1 have none."""
    assert binomial_se(30, 100) == pytest.approx(0.0458258, abs=1e-7)
    assert binomial_se(0, 10) == binomial_se(10, 10) == 0.0 == binomial_se(0, 0)


def test_a_core_verdict_needs_ninety_percent(budget_result):
    rows = [FutureRow(i, "optimal", funded=("A", "D") if i < 9 else ("B",), objective_value=1.0)
            for i in range(10)]
    f = Futures.of(budget_result, rows, 7)
    verdicts = {p.project_id: p.verdict for p in f.projects}
    assert CORE_SHARE == 0.9
    assert verdicts == {"A": "core", "B": "bet", "C": "never", "D": "core"}


# ---------------------------------------------------------------------------------------------
# Reports


@pytest.fixture(scope="module")
def reported(budget_result, budget_futures):
    return dataclasses.replace(budget_result,
                               analyses=Analyses(futures=budget_futures))


def test_the_memo_lists_core_bets_and_never_chosen_with_the_recommended_plan(reported):
    text = render_markdown(build_document(reported))
    section = text[text.index("Futures: what holds"):]
    assert "Robust core, funded in at least 90.0% of the futures: Project D (D) (100.0%, " \
           "recommended)" in section
    assert "Never chosen in any future: Project C (C)." in section
    a_share = next(p.share for p in reported.analyses.futures.projects if p.project_id == "A")
    plain = section.replace("**", "")  # rows of the recommended plan's projects are bold
    assert f"| Project A (A) | bet | {100 * a_share:.1f}% | \u00b1 " in plain
    assert "**Project A (A)**" in section  # A is in the recommended plan
    assert "The recommended plan funds Project A (A) (87.5%) and Project B (B) (57.5%), which " \
           "are funded in fewer than the core's share" in plain
    # the objective when A does not fit: B and D, 30 + 10 = 40 $M (the lowest future)
    assert "| Lowest | 40.0 |" in plain
    assert "Every future has a plan that meets the rules." in section
    assert "Objective (\\$M)" in section  # markdown escapes the dollar


def test_the_workbook_has_the_futures_sheets_printed_like_the_others(reported, tmp_path):
    path = tmp_path / "r.xlsx"
    build_workbook(reported).save(path)
    wb = openpyxl.load_workbook(path)
    assert {"Futures projects", "Futures objective", "Futures draws"} <= set(wb.sheetnames)
    ws = wb["Futures projects"]
    assert [c.value for c in ws[1]] == [
        "Project ID", "Name", "Futures funding it", "Share of futures funding it",
        "Standard error of the share", "Verdict", "In the recommended plan"]
    assert ws.cell(row=2, column=4).number_format.endswith("%")
    for ws in wb.worksheets:
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.oddFooter.right.text == "Page &P of &N", ws.title
    draws = wb["Futures draws"]
    assert draws.max_row == 41
    assert "Rule that fails most" in [c.value for c in draws[1]]


def test_the_command_line_summary_marks_the_recommended_plan(budget_futures):
    lines = "\n".join(summary_lines(budget_futures))
    assert "Robust core (funded in >= 90%): D*." in lines
    assert "Never chosen: C." in lines


def test_bad_numbers_of_futures_are_refused(budget_result):
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            sample_futures(budget_result, bad, parallel=SERIAL)


def test_the_futures_command_adds_to_a_run_and_frontier_keeps_it(tmp_path, capsys):
    """solve, then futures, then frontier into one folder: the futures key of the contract is
    written, and a later command keeps it."""
    import shutil

    from optimizer.cli import main

    wb = tmp_path / "good.xlsx"
    shutil.copy(Path(__file__).parent / "data" / "good.xlsx", wb)
    out = tmp_path / "out"
    fast = ["--no-sensitivity", "--workers", "1", "--out", str(out)]
    assert main(["solve", str(wb), *fast]) == 0
    assert main(["futures", str(wb), "--draws", "4", *fast]) == 0
    assert "Added the futures to the earlier run" in capsys.readouterr().out
    doc = json.loads((out / "results.json").read_text())
    assert doc["futures"]["draws"] == 4
    assert set(doc["futures"]) >= {"draws", "no_plan_share", "funded_share"}
    assert set(doc["futures"]["funded_share"]) == set(doc["rejected"]) | {
        f["project_id"] for f in doc["funded"]}
    assert main(["frontier", str(wb), "--points", "3", *fast]) == 0
    kept = json.loads((out / "results.json").read_text())
    assert kept["frontier"] and kept["futures"] == doc["futures"]
    assert kept["futures_draws"] == doc["futures_draws"]


def test_resolve_of_a_known_future_verifies_its_plan(budget_result, budget_futures):
    """The plan of each future is verified on that future's instance (resolve's verifier)."""
    known = future_instance(budget_result.instance, Sampler(budget_result.instance,
                                                            seed=7).future(3))
    outcome = resolve(known.instance, SolveOptions())
    assert outcome.has_plan
    assert outcome.result.evaluation.total_capex <= 250.0 + 1e-6
    assert set(outcome.result.starts) == set(budget_futures.rows[3].funded)
