"""The bundled example ``inputs/central_asia_refining.xlsx``: valid, shaped like the decision it
describes, every mineral figure sourced, a real trade-off for the optimizer, and reproducible from
``scripts/build_example.py``.

Units as everywhere: money $M, tonnes t (t/yr for capacities), shares fractions, calendar years.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from optimizer.evaluate import evaluate
from optimizer.solve import solve
from optimizer.validate import load_instance

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "inputs" / "central_asia_refining.xlsx"
SCRIPT = ROOT / "scripts" / "build_example.py"
DATA = ROOT / "data" / "usgs_mcs2025"
REGION = {"Kazakhstan", "Uzbekistan", "Tajikistan", "Kyrgyzstan", "Georgia", "Armenia",
          "Azerbaijan", "Ukraine"}


@pytest.fixture(scope="module")
def example():
    return load_instance(WORKBOOK)


@pytest.fixture(scope="module")
def sources(example):
    header = [h.strip().lower() for h in example.sources_header]
    col = {name: header.index(name) for name in ("item", "value", "unit", "status", "source")}
    rows = [dict((name, r.cells[i] if i < len(r.cells) else "") for name, i in col.items())
            for r in example.sources]
    return rows


def _plants(inst):
    return [p for p in inst.projects.values() if p.kind == "plant"]


def _offtakes(inst):
    return [p for p in inst.projects.values() if p.kind == "offtake"]


def test_workbook_is_valid_without_warnings(example):
    assert example.warnings == ()
    s = example.settings
    assert (s.first_year, s.horizon_years, s.discount_rate) == (2026, 25, 0.08)
    assert (s.objective, s.capex_basis, s.budget_carryover) == ("weighted", "mid", True)
    assert s.total_budget_musd is not None and s.target_year is not None
    assert all(600.0 <= example.budget[y] <= 900.0 for y in s.years)


def test_minerals_and_targets(example):
    assert 6 <= len(example.minerals) <= 8
    targeted = [m for m in example.minerals.values() if m.target_china_share is not None]
    assert 2 <= len(targeted) <= 3
    for m in targeted:
        assert m.target_china_share < m.china_share
    for m in example.minerals.values():
        assert m.us_demand_t > 0 and 0 < m.china_share < 1
        assert m.security_premium_usd_per_t > 0
        assert 0 <= m.demand_growth <= 0.05


def test_projects_across_the_region(example):
    assert 25 <= len(example.projects) <= 40
    countries = {p.country for p in example.projects.values()}
    assert countries == REGION
    assert all(p.mineral in example.minerals for p in example.projects.values())


def test_plants_are_large_and_slow_with_real_timing_choices(example):
    plants = _plants(example)
    assert len(plants) >= 10
    for p in plants:
        assert 500.0 <= p.capex_low_musd <= p.capex_high_musd <= 1000.0, p.project_id
        assert 3 <= p.build_years <= 18, p.project_id
    assert max(p.build_years for p in plants) == 18
    wide = [p for p in plants if p.latest_start - p.earliest_start >= 4]
    assert len(wide) >= len(plants) // 2
    uneven = [p for p in plants if len(set(p.capex_profile)) > 1]
    assert len(uneven) >= 3


def test_offtakes_deliver_within_two_years(example):
    offtakes = _offtakes(example)
    assert len(offtakes) >= 8
    for p in offtakes:
        assert 0 <= p.build_years <= 2, p.project_id
        assert p.operating_years is not None and 5 <= p.operating_years <= 10, p.project_id
        assert p.capex_high_musd <= 50.0, p.project_id
    assert sum(p.npv_musd < 0 for p in offtakes) >= len(offtakes) // 2


def test_dependencies_alternatives_risk_and_must_fund(example):
    projects = example.projects
    offtake_needs_plant = [p for p in _offtakes(example)
                           if any(projects[q].kind == "plant" for q in p.requires)]
    plant_needs_plant = [p for p in _plants(example)
                         if any(projects[q].kind == "plant" for q in p.requires)]
    assert offtake_needs_plant and plant_needs_plant
    groups: dict[str, list[str]] = {}
    for p in projects.values():
        if p.exclusive_group:
            groups.setdefault(p.exclusive_group, []).append(p.project_id)
    assert any(len(m) >= 2 and all(projects[i].kind == "plant" for i in m)
               for m in groups.values())
    ukraine = [p for p in projects.values() if p.country == "Ukraine"]
    assert ukraine and all(0.6 <= p.risk <= 0.9 for p in ukraine)
    assert any("front line" in p.name for p in ukraine)
    assert sum(p.must_fund for p in projects.values()) <= 1


def test_capacities_are_meaningful_against_demand(example):
    for p in example.projects.values():
        m = example.minerals[p.mineral]
        assert 0.01 * m.us_demand_t <= p.capacity_tpa <= 0.6 * m.us_demand_t, p.project_id


def test_budget_cannot_fund_everything(example):
    total_mid = sum(p.capex("mid") for p in example.projects.values())
    share = example.settings.total_budget_musd / total_mid
    assert 0.35 <= share <= 0.65


def test_sources_give_every_mineral_figure_a_status(example, sources):
    by_item = {r["item"]: r for r in sources}
    for name, m in example.minerals.items():
        for field in ("us_demand_t", "china_share"):
            row = by_item[f"{name}: {field}"]
            assert row["status"].startswith(("real: USGS MCS2025", "assumption")), row
            assert float(row["value"].replace(",", "")) == pytest.approx(getattr(m, field))
        assert by_item[f"{name}: china_share"]["status"].startswith("assumption")
    for r in sources:
        if r["value"]:
            assert r["status"], r
        if r["status"].startswith("real"):
            assert r["source"], r
    assert any(r["item"].startswith("Projects:") and r["status"] == "assumption" for r in sources)


def test_usgs_copies_match_their_recorded_checksums():
    text = (DATA / "SOURCE.md").read_text(encoding="utf-8")
    listed = dict((path, md5) for md5, path in re.findall(r"^([0-9a-f]{32})  (\S+)$", text, re.M))
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*.csv")}
    assert present == set(listed)
    for path, md5 in listed.items():
        assert hashlib.md5((DATA / path).read_bytes()).hexdigest() == md5, path


def test_script_reads_only_the_repository():
    assert "shared" not in SCRIPT.read_text(encoding="utf-8")


def test_regenerating_gives_the_same_workbook_content(example, tmp_path):
    out = tmp_path / "regenerated.xlsx"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fresh = load_instance(out)
    assert fresh.settings == example.settings
    assert dict(fresh.minerals) == dict(example.minerals)
    assert dict(fresh.projects) == dict(example.projects)
    assert dict(fresh.budget) == dict(example.budget)
    assert fresh.sources_header == example.sources_header
    assert fresh.sources == example.sources


def test_the_decision_is_a_real_trade_off(example):
    """Some but not all projects are funded, the budget binds, and the targets change the plan."""
    result = solve(example, time_limit_s=120, diagnose=False)
    funded = len(result.starts)
    assert 0.4 * len(example.projects) <= funded <= 0.7 * len(example.projects)
    assert result.evaluation.total_capex >= 0.85 * example.settings.total_budget_musd

    untargeted = example.with_minerals(
        {k: replace(m, target_china_share=None) for k, m in example.minerals.items()})
    free = solve(untargeted, time_limit_s=120, diagnose=False)
    ev = evaluate(example, free.starts)
    missed = [name for name, m in example.minerals.items() if m.target_china_share is not None
              and max(ev.share_after[name][t] for t in example.settings.years
                      if t >= example.settings.target_year) > m.target_china_share + 1e-7]
    assert len(missed) >= 2, "the targets should bind: without them the plan misses them"
