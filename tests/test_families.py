"""The constraint families are declared once, and the model, the verifier, the diagnosis and the
written formulation agree on them."""

from __future__ import annotations

import re
from pathlib import Path

from optimizer.families import BY_NAME, FAMILIES
from optimizer.model import CONSTRAINTS, build_model
from test_model_hand import instance, project

FORMULATION = Path(__file__).parents[1] / "docs" / "formulation.md"


def test_every_family_has_a_model_function_words_a_check_and_a_slack_description():
    assert [f.name for f in FAMILIES] == list(CONSTRAINTS)
    for family in FAMILIES:
        assert family.words.startswith("the "), family.name
        assert callable(family.check) and callable(family.describe), family.name


def test_the_formulation_documents_exactly_the_declared_families():
    text = FORMULATION.read_text(encoding="utf-8")
    documented = set(re.findall(r"family `([a-z_]+)`", text))
    assert documented == set(BY_NAME), documented ^ set(BY_NAME)
    for family in FAMILIES:
        assert f"`{CONSTRAINTS[family.name].__name__}`" in text, family.name


def test_every_row_the_model_keeps_belongs_to_a_declared_family():
    inst = instance([project("A", capex=10, build=1, start=(2026, 2027), npv=5, must_fund=True),
                     project("B", capex=10, build=1, start=(2026, 2027), npv=5, requires=("A",))],
                    budget=30, total_budget_musd=25, min_npv_musd=0, max_project_risk=0.5)
    m = build_model(inst)
    assert set(m.rows) <= set(BY_NAME)
    assert {"must_fund", "budget", "total_budget", "dependency", "min_npv"} <= set(m.rows)


def test_year_runs_name_gaps_instead_of_one_false_span():
    """Years 2031 and 2047-2050 are five years with a gap: "2031-2050 (5 years)" would claim
    twenty. Each run is named on its own."""
    from optimizer.families import shortfalls, year_runs

    assert year_runs([2031]) == "2031"
    assert year_runs([2047, 2048, 2049, 2050]) == "2047-2050"
    assert year_runs([2031, 2047, 2048, 2049, 2050]) == "2031 and 2047-2050"
    assert year_runs([2030, 2032, 2034]) == "2030, 2032 and 2034"
    slacks = [(("graphite", y), 10.0) for y in (2050, 2031, 2048, 2047, 2049)]
    assert shortfalls(slacks) == [("graphite", "2031 and 2047-2050", 5, 10.0)]
