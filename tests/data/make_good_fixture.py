"""Write ``tests/data/good.xlsx``: a small, valid input workbook the validator tests break one cell at a time.

Run from the repository root: ``.venv/bin/python tests/data/make_good_fixture.py``. The workbook is
written with plain openpyxl and the contract's field names as headers, so it does not depend on the
template code. Figures are illustrative, not sourced: the Sources sheet says so.

What the tests rely on (keep it when editing):
- Settings: first_year 2026, horizon_years 15 (2026 .. 2040), target_year 2033.
- Minerals: Gallium (row 2, no target) and Graphite (row 3, target_china_share 0.4).
- Projects rows 2-7; GA-OFF-1 (row 3) has blank capex_high_musd and earliest_start, build_years 0
  and must_fund TRUE; GR-SPH-1 (row 5) requires GR-REF-1 (row 4) and has blank latest_start;
  GR-REF-2A / GR-REF-2B share exclusive_group "quebec".
- Budget: one row per horizon year, rows 2-16.
- CapexProfile: GR-REF-1 (build_years 4), offsets 0-3 in rows 2-5.
- Version 2: Projects columns R-U and the sheets Countries and CashFlows (after Sources) hold
  headers only.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "good.xlsx"

SETTINGS = [
    ("first_year", 2026),
    ("horizon_years", 15),
    ("discount_rate", 0.08),
    ("objective", "weighted"),
    ("capex_basis", "mid"),
    ("total_budget_musd", 3000),
    ("budget_carryover", True),
    ("target_year", 2033),
    ("solver", "highs"),
    ("time_limit_s", 30),
    ("mip_gap", 0.0001),
]

MINERAL_HEADER = ["mineral", "us_demand_t", "demand_growth", "china_share", "target_china_share",
                  "weight", "security_premium_usd_per_t"]
MINERALS = [
    ["Gallium", 20, 0.02, 0.9, None, 2, 250000],
    ["Graphite", 80000, 0.04, 0.6, 0.4, 1, 500],
]

PROJECT_HEADER = ["project_id", "name", "kind", "mineral", "country", "capex_low_musd",
                  "capex_high_musd", "build_years", "earliest_start", "latest_start",
                  "capacity_tpa", "operating_years", "npv_musd", "requires", "exclusive_group",
                  "risk", "must_fund",
                  # version 2 columns, blank in every row (the tests fill one cell at a time)
                  "loss_probability", "delay_probability", "max_delay_years", "proposed_start"]
PROJECTS = [
    ["GA-REF-1", "Gallium recovery plant, Louisiana", "plant", "Gallium", "United States",
     420, 610, 3, 2027, 2030, 18, None, 140, None, None, 0.2, False],
    ["GA-OFF-1", "Gallium offtake, Japan", "offtake", "Gallium", "Japan",
     0, None, 0, None, 2029, 6, 8, -12, None, None, 0.1, True],
    ["GR-REF-1", "Graphite anode plant, Georgia", "plant", "Graphite", "United States",
     900, 1250, 4, 2026, 2032, 30000, None, 320, None, None, 0.3, False],
    ["GR-SPH-1", "Spherical graphite line, Georgia", "plant", "Graphite", "United States",
     150, 210, 2, 2028, None, 12000, None, 60, "GR-REF-1", None, 0.25, "no"],
    ["GR-REF-2A", "Graphite refinery, Quebec site A", "plant", "Graphite", "Canada",
     700, 950, 3, 2027, 2031, 25000, None, 210, None, "quebec", 0.2, None],
    ["GR-REF-2B", "Graphite refinery, Quebec site B", "plant", "Graphite", "Canada",
     650, 980, 3, 2027, 2031, 24000, 20, 190, None, "quebec", 0.35, 0],
]

BUDGET = [(2026 + i, [250, 300, 350, 400, 400][min(i, 4)]) for i in range(15)]

CAPEX_PROFILE = [("GR-REF-1", 0, 0.1), ("GR-REF-1", 1, 0.3), ("GR-REF-1", 2, 0.4),
                 ("GR-REF-1", 3, 0.2)]

SCENARIOS = [
    ("capex overrun", 1.3, 0, 1.0, 1.0),
    ("late and weak demand", 1.0, 2, 0.8, 0.9),
]

V2_COUNTRIES_HEADER = ["country", "loss_probability", "delay_probability", "max_delay_years",
                       "max_capex_share", "source"]
V2_CASH_FLOWS_HEADER = ["project_id", "year_offset", "cash_flow_musd"]

SOURCES = [
    ("item", "source", "note"),
    ("all figures", "test fixture", "illustrative values, not sourced"),
    ("Graphite us_demand_t", "assumption", "round number for tests"),
]


def build(path: Path = OUTPUT) -> Path:
    """Write the fixture workbook to ``path`` and return it."""
    book = Workbook()
    settings = book.active
    settings.title = "Settings"
    settings.append(["setting", "value"])
    for row in SETTINGS:
        settings.append(list(row))

    minerals = book.create_sheet("Minerals")
    minerals.append(MINERAL_HEADER)
    for row in MINERALS:
        minerals.append(row)

    projects = book.create_sheet("Projects")
    projects.append(PROJECT_HEADER)
    for row in PROJECTS:
        projects.append(row)

    budget = book.create_sheet("Budget")
    budget.append(["year", "budget_musd"])
    for row in BUDGET:
        budget.append(list(row))

    profile = book.create_sheet("CapexProfile")
    profile.append(["project_id", "year_offset", "share"])
    for row in CAPEX_PROFILE:
        profile.append(list(row))

    scenarios = book.create_sheet("Scenarios")
    scenarios.append(["scenario", "capex_multiplier", "delay_years", "demand_multiplier",
                      "npv_multiplier"])
    for row in SCENARIOS:
        scenarios.append(list(row))

    sources = book.create_sheet("Sources")
    for row in SOURCES:
        sources.append(list(row))

    # Version 2 sheets, header only (after Sources, so the sheets above keep their part names).
    book.create_sheet("Countries").append(V2_COUNTRIES_HEADER)
    book.create_sheet("CashFlows").append(V2_CASH_FLOWS_HEADER)

    book.save(path)
    return path


if __name__ == "__main__":
    print(f"wrote {build()}")
