"""The trade-off and uncertainty sections of the memo (frontier and budget ladder, robust budgets,
Monte Carlo, scenarios, alternatives), their charts and their sheets in results.xlsx.

The analyses are real: computed by the optimizer on a small instance (helpers.make_tradeoff_result).
Every figure is checked against ``results.json`` (``Result.to_json`` through JSON), formatted here
independently of the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import openpyxl
import pytest
from helpers import make_result, make_tradeoff_result
from matplotlib.figure import Figure
from test_memo import (CORE_TITLES, LAST_TITLE, RUN_TIME, amount, money, pct, section, tables,
                       text_of, word_table_rows, word_text)

from optimizer.outputs import read_analyses
from optimizer import charts
from optimizer.memo import build_document, write_memo
from optimizer.memo import text as fmt
from optimizer.memo.content import OPTIONAL_SECTIONS
from optimizer.memo.markdown import escape as md_escape
from optimizer.memo.model import Bullets, Figure as MemoFigure
from optimizer.report_xlsx import DECIMAL, FRACTION, format_for_key, write_results_xlsx
from optimizer.tables import header_words
from optimizer.xlsx_style import MONEY, PERCENT, YEAR

TITLES = ["Countries: concentration and stress test",
          "Trade-offs: NPV against China reliance", "Robust budgets",
          "Risk: Monte Carlo simulation", "Scenarios", "Near-optimal alternatives"]
KEYS = ["countries", "tradeoffs", "robust", "simulation", "scenarios", "alternatives"]
DASH = "\u2014"


def sy(value: float) -> str:
    """Share-years as the memo writes them, written independently."""
    return f"{value:,.3f}"


def signed(text: str) -> str:
    return text if text.startswith("-") or text in ("0.0", "0.000") else "+" + text


def signed_money(value: float) -> str:
    text = money(value)
    return text if text.startswith("-") or text == "$0.0M" else "+" + text


@pytest.fixture(scope="module")
def result():
    return make_tradeoff_result()


@pytest.fixture(scope="module")
def js(result) -> dict:
    """results.json as a reader gets it (through JSON)."""
    return json.loads(json.dumps(result.to_json()))


@pytest.fixture(scope="module")
def memo(result, tmp_path_factory) -> dict[str, Path]:
    return write_memo(result, tmp_path_factory.mktemp("tradeoffs"), run_time=RUN_TIME)


@pytest.fixture(scope="module")
def doc(result, memo):
    pngs = {k.removeprefix("chart_"): v for k, v in memo.items() if k.startswith("chart_")}
    return build_document(result, pngs, run_time=RUN_TIME)


def bullets(sec) -> list[str]:
    return [item for b in sec.blocks if isinstance(b, Bullets) for item in b.items]


def figures(sec) -> list[MemoFigure]:
    return [b for b in sec.blocks if isinstance(b, MemoFigure)]


# ---------------------------------------------------------------------------------------------
# Structure: order, presence, files


def test_the_fixture_has_every_analysis(js):
    for key in ("frontier", "budget_ladder", "robust", "scenarios", "scenario_projects",
                "alternatives", "simulation_summary", "simulation_budget", "simulation_targets",
                "simulation_online", "simulation_risks", "simulation_settings",
                "simulation_histogram"):
        assert js.get(key), key
    assert len(js["frontier"]) >= 3 and len(js["alternatives"]) == 2
    assert any(r["status"] == "infeasible" for r in js["scenarios"])
    assert {p["funded_in"] for p in js["scenario_projects"]} == {"every scenario",
                                                                 "some scenarios"}


def test_sections_in_order_in_the_model(doc):
    assert [s.title for s in doc.sections] == CORE_TITLES + TITLES + [LAST_TITLE]
    assert [s.key for s in doc.sections][len(CORE_TITLES):-1] == KEYS


def test_sections_in_order_in_html_docx_and_markdown(html_text, md_text, word):
    numbered = [f"{i + 1}. {t}" for i, t in enumerate(CORE_TITLES + TITLES + [LAST_TITLE])]
    html_heads = [h for h in re.findall(r"<h2>(.*?)</h2>", html_text)]
    assert html_heads == [h.replace("&", "&amp;") for h in numbered]
    word_heads = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert word_heads == numbered
    md_heads = re.findall(r"^## (.*)$", md_text, flags=re.M)
    assert md_heads == [md_escape(h) for h in numbered]


def test_charts_are_written_and_embedded(memo, html_text, md_text):
    assert memo["chart_frontier"].name == "chart_frontier.png"
    assert memo["chart_simulation_histogram"].name == "chart_simulation_histogram.png"
    for key in ("chart_frontier", "chart_simulation_histogram"):
        assert memo[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(re.findall(r'src="data:image/png;base64,', html_text)) == 5
    images = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md_text))
    assert {"chart_frontier.png", "chart_simulation_histogram.png"} <= images


def test_docx_tables_match_the_model(doc, word):
    model = [t for s in doc.sections for t in tables(s)]
    assert len(word.tables) == len(model)
    for table, expected in zip(word.tables, model):
        rows = word_table_rows(table)
        assert tuple(rows[0]) == expected.header
        assert [tuple(r) for r in rows[1: 1 + len(expected.rows)]] == list(expected.rows)


@pytest.mark.parametrize("drop,gone", [
    (("frontier", "budget_ladder"), "tradeoffs"),
    (("robust",), "robust"),
    (tuple(k for k in make_tradeoff_result().analyses.tables() if k.startswith("simulation")),
     "simulation"),
    (("scenarios", "scenario_projects"), "scenarios"),
    (("alternatives",), "alternatives"),
])
def test_a_section_appears_only_with_its_analyses(result, drop, gone):
    analyses = {k: v for k, v in result.analyses.tables().items() if k not in drop}
    doc = build_document(dataclasses.replace(result, analyses=read_analyses(analyses)), run_time=RUN_TIME)
    keys = [s.key for s in doc.sections]
    assert gone not in keys
    assert [k for k in KEYS if k != gone] == [k for k in keys if k in KEYS]
    for key in drop:  # and no generic section shows it instead
        assert key not in keys


def test_no_tradeoff_section_without_the_analyses():
    doc = build_document(make_result(), run_time=RUN_TIME)
    assert not set(KEYS) & {s.key for s in doc.sections}


def test_a_companion_alone_still_gets_its_section(result):
    analyses = {"budget_ladder": result.analyses.tables()["budget_ladder"],
                "simulation_summary": result.analyses.tables()["simulation_summary"]}
    doc = build_document(dataclasses.replace(result, analyses=read_analyses(analyses)), run_time=RUN_TIME)
    trade = section(doc, "tradeoffs")
    assert [t.header[0] for t in tables(trade)] == ["Total budget $M"]
    risk = section(doc, "simulation")
    assert [t.header[0] for t in tables(risk)] == ["Measure"]
    assert not figures(trade) and not figures(risk)


def test_registry_keeps_one_entry_per_section():
    # proposal, priority and futures need inputs or flags this result does not have
    keys = [o.section_key for o in OPTIONAL_SECTIONS]
    assert keys == ["proposal", "priority"] + KEYS[:4] + ["futures"] + KEYS[4:]
    assert all(o.build is not None for o in OPTIONAL_SECTIONS)
    robust = next(o for o in OPTIONAL_SECTIONS if o.key == "robust")
    assert "capital cost" in robust.intro and "price" not in robust.intro.replace(
        "price of robustness", "")


# ---------------------------------------------------------------------------------------------
# 1. Frontier and budget ladder


def test_frontier_table_matches_the_json(doc, js, result):
    sec = section(doc, "tradeoffs")
    table = tables(sec)[0]
    # the fixture's objective is weighted: NPV against the security value ($M)
    assert table.header == ("Point", "Security value $M", "NPV $M", "Capex $M",
                            "Funded", "Added", "Dropped")
    assert len(table.rows) == len(js["frontier"])
    for i, (row, p) in enumerate(zip(table.rows, js["frontier"])):
        assert row[0] == str(i + 1)
        assert row[1] == amount(p["security_premium_musd"])
        assert row[2] == amount(p["npv_musd"])
        assert row[3] == amount(p["total_capex_musd"])
        assert row[4] == str(p["funded_count"])
        if i == 0:
            assert row[5:] == (DASH, DASH)
        else:
            assert row[5] == (p["added"] or "none")
            assert row[6] == (p["dropped"] or "none")
    chosen = [i for i, p in enumerate(js["frontier"])
              if abs(p["npv_musd"] - js["npv_musd"]) < 1e-6
              and abs(p["security_premium_musd"] - js["security_premium_musd"]) < 1e-6]
    assert table.emphasis == frozenset(chosen)
    assert [i for i, p in enumerate(js["frontier"]) if p["recommended"]] == chosen
    assert chosen and f"The recommended plan is point {chosen[0] + 1}" in text_of(sec)
    first = js["frontier"][0]["funded"].split(", ")
    assert f"Point 1 funds {', '.join(first[:-1])} and {first[-1]}." in text_of(sec)


def test_frontier_sentence_says_what_moving_along_trades(doc, js):
    text = text_of(section(doc, "tradeoffs"))
    first, last = js["frontier"][0], js["frontier"][-1]
    n = len(js["frontier"])
    lost = first["npv_musd"] - last["npv_musd"]
    gained = last["security_premium_musd"] - first["security_premium_musd"]
    assert (f"from point 1 (highest NPV, {money(first['npv_musd'])}, "
            f"{money(first['security_premium_musd'])} of security value) to point {n}") in text
    assert (f"NPV falls by {money(lost)} while security value rises by {money(gained)}, "
            f"${lost / gained:,.2f} of NPV per $1 of security value on average") in text


def test_frontier_chosen_plan_off_the_traced_points(result):
    frontier = [dict(p) for p in result.analyses.tables()["frontier"]]
    for p in frontier:
        p["npv_musd"] += 10.0  # every point now beats the plan on NPV
        p["recommended"] = False
    off = dataclasses.replace(result, analyses=read_analyses({"frontier": frontier}))
    assert charts.chosen_point(off) is None
    sec = section(build_document(off, run_time=RUN_TIME), "tradeoffs")
    k = next(i for i, p in enumerate(frontier)
             if p["security_premium_musd"] >= result.evaluation.premium_musd - 1e-9)
    assert f"is not one of the traced points; point {k + 1} has at least as much of both" in \
        text_of(sec)
    assert tables(sec)[0].emphasis == frozenset()


def test_frontier_with_one_point(result):
    one = dataclasses.replace(result, analyses=read_analyses({"frontier": result.analyses.tables()["frontier"][:1]}))
    text = text_of(section(build_document(one, run_time=RUN_TIME), "tradeoffs"))
    assert "There is a single point" in text and "nothing to trade" in text


def test_budget_ladder_table_and_sentence(doc, js):
    sec = section(doc, "tradeoffs")
    table = tables(sec)[1]
    assert table.header[0] == "Total budget $M"
    previous_feasible = False
    for row, r in zip(table.rows, js["budget_ladder"]):
        assert row[0] == amount(r["total_budget_musd"])
        assert row[1] == r["status"]
        if r["objective_value"] is None:
            assert row[2:] == (DASH,) * 7
            previous_feasible = False
            continue
        assert row[2] == amount(r["objective_value"])
        assert row[3] == amount(r["npv_musd"])
        assert row[4] == sy(r["security_share_years"])
        assert row[5] == amount(r["total_capex_musd"])
        assert row[6] == str(r["funded_count"])
        if previous_feasible:  # changes only against a rung with a plan
            assert row[7] == (r["added"] or "none") and row[8] == (r["dropped"] or "none")
        else:
            assert row[7:] == (DASH, DASH)
        previous_feasible = True
    text = text_of(sec)
    rungs = js["budget_ladder"]
    infeasible = [money(r["total_budget_musd"]) for r in rungs if r["objective_value"] is None]
    feasible = [r for r in rungs if r["objective_value"] is not None]
    best = max(r["objective_value"] for r in feasible)
    top = next(r for r in feasible if r["objective_value"] >= best - 1e-6 * best)
    assert f"No plan satisfies the constraints with a cap of {' or '.join(infeasible)}." in text
    assert (f"The objective rises from {money(feasible[0]['objective_value'])} at "
            f"{money(feasible[0]['total_budget_musd'])} to {money(top['objective_value'])} at "
            f"{money(top['total_budget_musd'])}.") in text
    assert (f"Beyond {money(top['total_budget_musd'])} more budget changes nothing: the plan "
            f"then spends {money(top['total_capex_musd'])}.") in text


# ---------------------------------------------------------------------------------------------
# 2. Robust budgets


def test_price_of_robustness_sentence(doc, js, word, html_text, md_text):
    nominal, robust = js["robust"]
    assert nominal["robust_gamma"] == 0 and robust["robust_gamma"] == 1
    price = robust["price_of_robustness"]
    assert price == pytest.approx(nominal["objective_value"] - robust["objective_value"])
    expected = (f"Protecting every year's budget against any 1 project running to its high "
                f"capital cost costs {money(price)} of objective "
                f"({pct(price / nominal['objective_value'])}): the objective is "
                f"{money(nominal['objective_value'])} at gamma 0 against "
                f"{money(robust['objective_value'])} at gamma 1.")
    sec = section(doc, "robust")
    assert sec.blocks[0].text == expected
    assert expected in word_text(word)
    assert expected.replace("'", "&#x27;") in html_text
    assert md_escape(expected) in md_text
    table = tables(sec)[0]
    for row, r in zip(table.rows, js["robust"]):
        assert row[0] == str(r["robust_gamma"])
        assert row[2] == amount(r["objective_value"])
        assert row[3] == amount(r["npv_musd"])
        assert row[4] == amount(r["total_capex_musd"])
        assert row[6] == amount(r["price_of_robustness"])
    assert table.emphasis == {1}
    assert "Bertsimas" in text_of(sec)


def test_price_of_robustness_in_words_for_two_projects_and_security():
    rows = [{"robust_gamma": 0, "status": "optimal", "objective_value": 2.5, "npv_musd": 10.0,
             "total_capex_musd": 100.0, "funded_count": 3, "price_of_robustness": 0.0},
            {"robust_gamma": 2, "status": "optimal", "objective_value": 2.0, "npv_musd": 8.0,
             "total_capex_musd": 90.0, "funded_count": 2, "price_of_robustness": 0.5}]
    result = dataclasses.replace(make_result(objective="security", robust_gamma=2),
                                 analyses=read_analyses({"robust": rows}))
    text = section(build_document(result, run_time=RUN_TIME), "robust").blocks[0].text
    assert text == ("Protecting every year's budget against any 2 projects running to their high "
                    "capital cost costs 0.500 share-years of objective (20.0%): the objective is "
                    "2.500 share-years at gamma 0 against 2.000 share-years at gamma 2.")


# ---------------------------------------------------------------------------------------------
# 3. Monte Carlo


def test_simulation_sentences(doc, js, result):
    text = text_of(section(doc, "simulation"))
    settings = {r["setting"]: r["value"] for r in js["simulation_settings"]}
    assert f"simulated over {settings['draws']:,} draws (seed {settings['seed']})" in text
    assert f"most likely at the {settings['capex_basis (triangular mode)']} basis" in text
    assert (f"with probability {pct(settings['delay_probability'])} a project comes online late "
            f"by 1 to {settings['max_delay_years']} years") in text
    names = {"total capex $M": "Total capex", "NPV $M": "NPV"}
    for r in js["simulation_summary"]:
        assert (f"{names[r['measure']]}: P10 {money(r['p10'])}, P50 {money(r['p50'])}, "
                f"P90 {money(r['p90'])} (planned {money(r['planned'])}).") in text
    for r in js["simulation_risks"]:
        assert f"{r['event']}, {pct(r['probability'])}" in text
    assert js["simulation_risks"][0]["event"].endswith("in at least one year")
    last = result.instance.settings.last_year
    for r in js["simulation_targets"]:
        assert (f"{r['mineral']} (China share at most {pct(r['target_china_share'])} in "
                f"{r['target_year']}) {pct(r['p_met'])} in {r['target_year']}, "
                f"{pct(r['p_met_all_years'])} in every year from {r['target_year']} to "
                f"{last}") in text


def test_simulation_tables(doc, js, result):
    sec = section(doc, "simulation")
    summary, budget, targets, online = tables(sec)[:4]
    for row, r in zip(summary.rows, js["simulation_summary"]):
        assert row[1:] == tuple(amount(r[k]) for k in ("p10", "p50", "p90", "mean", "planned"))
    spending = [r for r in js["simulation_budget"] if r["planned_spend_musd"] > 1e-7]
    assert len(spending) < len(js["simulation_budget"])  # years without spend are left out
    assert [row[0] for row in budget.rows] == [str(r["year"]) for r in spending]
    for row, r in zip(budget.rows, spending):
        assert row[1:] == (amount(r["budget_musd"]), amount(r["planned_spend_musd"]),
                           amount(r["mean_spend_musd"]), pct(r["p_exceeded"]))
    for row, r in zip(targets.rows, js["simulation_targets"]):
        assert row == (r["mineral"], pct(r["target_china_share"]), str(r["target_year"]),
                       pct(r["planned_china_share"]), pct(r["p_met"]), pct(r["p_met_all_years"]))
    assert len(online.rows) == len(js["funded"])
    for row, r in zip(online.rows, js["simulation_online"]):
        assert row[0].endswith(f"({r['project_id']})")
        assert row[1:] == (str(r["planned_online"]), pct(r["p_on_time"]), str(r["p10"]),
                           str(r["p50"]), str(r["p90"]))
    assert [f.path.name for f in figures(sec)] == ["chart_simulation_histogram.png"]


def test_budget_years_with_a_chance_of_overrun_are_highlighted(result):
    budget = [dict(r) for r in result.analyses.tables()["simulation_budget"]]
    budget[1]["p_exceeded"] = 0.125
    changed = dataclasses.replace(result, analyses=read_analyses({**result.analyses.tables(),
                                                    "simulation_budget": budget}))
    table = tables(section(build_document(changed, run_time=RUN_TIME), "simulation"))[1]
    assert table.emphasis == {1} and table.rows[1][-1] == "12.5%"


# ---------------------------------------------------------------------------------------------
# 4. Scenarios


def test_scenarios_table_and_robust_choices(doc, js, result):
    sec = section(doc, "scenarios")
    table = tables(sec)[0]
    assert [r[0] for r in table.rows] == [r["scenario"] for r in js["scenarios"]]
    defined = {sc.scenario: sc for sc in result.instance.scenarios}
    for row, r in zip(table.rows, js["scenarios"]):
        assert row[5] == r["status"]
        if r["objective_value"] is None:
            assert row[6:] == (DASH,) * 4
        else:
            assert row[6:] == (amount(r["objective_value"]), amount(r["npv_musd"]),
                               amount(r["total_capex_musd"]), str(r["funded_count"]))
        if r["scenario"] in defined:
            assert row[1] == f"{defined[r['scenario']].capex_multiplier:g}"
    assert table.emphasis == {0}
    text = text_of(sec)
    every = [p for p in js["scenario_projects"] if p["funded_in"] == "every scenario"]
    some = [p for p in js["scenario_projects"] if p["funded_in"] == "some scenarios"]
    solved = sum(r["objective_value"] is not None for r in js["scenarios"])
    labels = [fmt.project_label(p["name"], p["project_id"]) for p in every]
    assert (f"Robust choices, funded in all {solved} scenarios with a feasible plan: "
            f"{' and '.join(labels)}.") in text
    assert bullets(sec) == [f"{fmt.project_label(p['name'], p['project_id'])}: {p['scenarios']}"
                            for p in some]
    failed = [r["scenario"] for r in js["scenarios"] if r["objective_value"] is None]
    assert f"No plan satisfies the constraints under {failed[0]}" in text


# ---------------------------------------------------------------------------------------------
# 5. Alternatives


def test_alternatives_lines_and_table(doc, js, result):
    sec = section(doc, "alternatives")
    lines = bullets(sec)
    assert len(lines) == len(js["alternatives"])
    for line, r in zip(lines, js["alternatives"]):
        change = []
        if r["adds"]:
            change.append("adds " + " and ".join(
                fmt.project_label(result.instance.projects[p].name, p)
                for p in r["adds"].split(", ")))
        if r["drops"]:
            change.append("drops " + " and ".join(
                fmt.project_label(result.instance.projects[p].name, p)
                for p in r["drops"].split(", ")))
        capital = ("capital unchanged" if amount(r["capex_change_musd"]) in ("0.0", "-0.0")
                   else f"capital {signed_money(r['capex_change_musd'])}")
        assert line == (f"Alternative {r['alternative']} scores "
                        f"{pct(r['objective_below_optimum_pct'])} below the best plan: it "
                        f"{' and '.join(change)}; NPV {signed_money(r['npv_change_musd'])}, China "
                        f"reliance removed {signed(sy(r['security_change']))} share-years, "
                        f"{capital}.")
    table = tables(sec)[0]
    best = table.rows[0]
    assert best[0] == "Best" and best[1] == amount(js["objective_value"])
    assert best[3] == amount(js["npv_musd"]) and best[5] == sy(js["security_share_years"])
    for row, r in zip(table.rows[1:], js["alternatives"]):
        assert row == (f"Alt.\u00a0{r['alternative']}", amount(r["objective_value"]),
                       pct(r["objective_below_optimum_pct"]), amount(r["npv_musd"]),
                       signed(amount(r["npv_change_musd"])), sy(r["security_share_years"]),
                       signed(sy(r["security_change"])), amount(r["total_capex_musd"]),
                       signed(amount(r["capex_change_musd"])), r["adds"] or "none",
                       r["drops"] or "none")
    within = pct(result.instance.settings.alternatives_within)
    assert f"within {within} of the best plan's" in text_of(sec)


def test_no_alternative_found(result):
    none = dataclasses.replace(result, analyses=read_analyses({"alternatives": []}))
    sec = section(build_document(none, run_time=RUN_TIME), "alternatives")
    assert "No other portfolio comes within 30.0% of the best plan." in text_of(sec)
    assert not tables(sec)


# ---------------------------------------------------------------------------------------------
# Charts


@pytest.mark.parametrize("draw", [charts.frontier_figure, charts.simulation_figure],
                         ids=lambda f: f.__name__)
def test_charts_are_figures_with_labelled_axes(result, draw):
    fig = draw(result)
    assert isinstance(fig, Figure) and fig.axes
    for ax in fig.axes:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip()


def test_frontier_chart_plots_the_points_and_the_chosen_plan(result, js):
    ax = charts.frontier_figure(result).axes[0]
    assert "ecurity value" in ax.get_xlabel() and "$M" in ax.get_xlabel()
    assert "NPV" in ax.get_ylabel()
    dots = next(line for line in ax.lines if line.get_marker() == "o")
    assert list(dots.get_xdata()) == pytest.approx([p["security_premium_musd"]
                                                    for p in js["frontier"]])
    assert list(dots.get_ydata()) == pytest.approx([p["npv_musd"] for p in js["frontier"]])
    star = next(line for line in ax.lines if line.get_marker() == "*")
    assert list(star.get_xdata()) == pytest.approx([js["security_premium_musd"]])
    assert list(star.get_ydata()) == pytest.approx([js["npv_musd"]])
    labels = [t.get_text() for t in ax.texts]
    assert labels == [str(i + 1) for i in range(len(js["frontier"]))]
    assert any(line.get_drawstyle() == "steps-pre" for line in ax.lines)


def test_simulation_chart_shows_the_histogram_and_quantiles(result, js):
    fig = charts.simulation_figure(result)
    assert len(fig.axes) == 2
    npv_ax = fig.axes[0]
    assert "NPV" in npv_ax.get_xlabel() and npv_ax.get_ylabel() == "Share of draws"
    bins = [r for r in js["simulation_histogram"] if r["measure"] == "NPV $M"]
    heights = list(npv_ax.patches[0].get_data().values)  # the filled stairs
    assert heights == pytest.approx([r["share"] for r in bins])
    summary = next(r for r in js["simulation_summary"] if r["measure"] == "NPV $M")
    verticals = sorted(line.get_xdata()[0] for line in npv_ax.lines)
    assert verticals == pytest.approx(sorted([summary["p10"], summary["p50"], summary["p90"],
                                              summary["planned"]]))


def test_charts_survive_empty_analyses():
    base = make_result()
    for draw, analyses in ((charts.frontier_figure, {"frontier": []}),
                           (charts.simulation_figure, {"simulation_histogram": []})):
        fig = draw(dataclasses.replace(base, analyses=read_analyses(analyses)))
        assert isinstance(fig, Figure)
        fig.canvas.draw()


# ---------------------------------------------------------------------------------------------
# Formatting and results.xlsx


@pytest.mark.parametrize("key,value,text", [
    ("p_exceeded", 0.125, "12.5%"), ("p_met_all_years", 1.0, "100.0%"),
    ("probability", 0.9126, "91.3%"), ("objective_below_optimum_pct", 0.025, "2.5%"),
    ("p10", 237.67, "237.7"), ("planned_online", 2028, "2028"), ("security_change", 0.26, "0.260"),
    ("security_share_years", 2.0, "2.000"), ("budget_change", -0.3, "-30.0%"),
    ("npv_change_musd", -4.29, "-4.3"),
])
def test_memo_cell_formats(key, value, text):
    assert fmt.cell_text(key, value) == text


@pytest.mark.parametrize("key,expected", [
    ("p_exceeded", PERCENT), ("p_met", PERCENT), ("p_met_all_years", PERCENT),
    ("p_on_time", PERCENT), ("probability", PERCENT), ("objective_below_optimum_pct", PERCENT),
    ("share", PERCENT), ("budget_change", PERCENT), ("security_share_years", DECIMAL),
    ("security_change", DECIMAL), ("security_floor", DECIMAL), ("npv_change_musd", MONEY),
    ("total_budget_musd", MONEY), ("target_year", YEAR), ("p10", None), ("planned_online", None),
])
def test_xlsx_format_for_key(key, expected):
    assert format_for_key(key) == expected


@pytest.fixture(scope="module")
def workbook(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "results.xlsx"
    write_results_xlsx(result, path)
    return openpyxl.load_workbook(path)


class ByField(dict):
    """Header -> number format, looked up by field name: the column headed by the field's words
    (``header_words``, the objective in $M as the fixture's weighted objective)."""

    def __getitem__(self, field: str) -> str:
        return super().__getitem__(header_words(field, "$M"))


def formats(ws) -> ByField:
    """Number format of the first data row of each column, by field name."""
    return ByField({c.value: ws.cell(row=2, column=c.column).number_format for c in ws[1]})


def test_xlsx_has_a_sheet_per_table(workbook):
    for title in ("Frontier", "Budget ladder", "Robust", "Scenarios", "Scenario projects",
                  "Alternatives", "Simulation summary", "Simulation budget",
                  "Simulation targets", "Simulation online", "Simulation risks",
                  "Simulation settings", "Simulation histogram"):
        assert title in workbook.sheetnames, title


def test_xlsx_percent_formats_on_probabilities(workbook):
    assert formats(workbook["Simulation budget"])["p_exceeded"] == PERCENT
    targets = formats(workbook["Simulation targets"])
    assert targets["p_met"] == targets["p_met_all_years"] == PERCENT
    assert targets["target_china_share"] == PERCENT and targets["target_year"] == YEAR
    assert formats(workbook["Simulation online"])["p_on_time"] == PERCENT
    assert formats(workbook["Simulation risks"])["probability"] == PERCENT
    assert formats(workbook["Simulation histogram"])["share"] == PERCENT
    assert formats(workbook["Alternatives"])["objective_below_optimum_pct"] == PERCENT


def test_xlsx_other_formats(workbook, js):
    frontier = formats(workbook["Frontier"])
    assert frontier["npv_musd"] == MONEY and frontier["total_capex_musd"] == MONEY
    assert frontier["security_share_years"] == DECIMAL
    ladder = formats(workbook["Budget ladder"])
    assert ladder["total_budget_musd"] == MONEY
    summary = formats(workbook["Simulation summary"])
    assert summary["p10"] == summary["p50"] == summary["p90"] == summary["planned"] == MONEY
    online = formats(workbook["Simulation online"])
    assert online["p10"] == online["p90"] == online["planned_online"] == YEAR
    assert ladder["objective_value"] == FRACTION
    alternatives = formats(workbook["Alternatives"])
    assert alternatives["security_change"] == DECIMAL
    assert alternatives["npv_change_musd"] == MONEY
    ws = workbook["Simulation budget"]
    values = [r[3] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert values == pytest.approx([r["p_exceeded"] for r in js["simulation_budget"]])


def test_the_workbook_total_budget_rung_is_highlighted(result):
    ladder = result.analyses.tables()["budget_ladder"]
    own = ladder[3]["total_budget_musd"]
    inst = result.instance.with_settings(total_budget_musd=own)
    changed = dataclasses.replace(result, instance=inst, analyses=read_analyses({"budget_ladder": ladder}))
    sec = section(build_document(changed, run_time=RUN_TIME), "tradeoffs")
    assert tables(sec)[0].emphasis == {3}
    assert f"the workbook's own total budget, {money(own)}, is replaced by each cap" in \
        text_of(sec)


# ---------------------------------------------------------------------------------------------
# In a browser


@pytest.mark.parametrize("width", [1240, 672], ids=["screen", "A4 text width"])
def test_memo_fits_the_page_in_a_browser(memo, tmp_path, width):
    from test_memo_browser import verdict

    found = verdict(memo["html"], tmp_path, width)
    assert found["errors"] == [] and found["problems"] == []
    assert found["images"] == found["loaded"] == 5


def test_frontier_chosen_plan_between_two_points(result):
    frontier = [dict(p) for p in result.analyses.tables()["frontier"]]
    ev = result.evaluation
    for i, p in enumerate(frontier):  # shift the points: the plan now lies between 1 and 2
        p["security_premium_musd"] = ev.premium_musd + (i - 0.5) * 0.1
        p["npv_musd"] = ev.npv_musd + 1.0 - 3.0 * i
        p["recommended"] = False
    off = dataclasses.replace(result, analyses=read_analyses({"frontier": frontier}))
    text = text_of(section(build_document(off, run_time=RUN_TIME), "tradeoffs"))
    assert ("no traced point beats it on both counts: it lies between points 1 and 2" in text)
