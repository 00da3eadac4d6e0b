"""Charts: pure Figures of a Result, labelled axes, no pyplot, 40 Gantt rows without overlap."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import make_result
from matplotlib.figure import Figure

from optimizer import charts
from optimizer.evaluate import evaluate
from optimizer.instance import Instance, Mineral, Project, Settings, SourceRow
from optimizer.report_xlsx import spend_rows
from optimizer.results import Result, SolveInfo

CHART_FUNCTIONS = [charts.timeline_figure, charts.spend_figure, charts.china_share_figure]
MINERALS = ["gallium", "germanium", "graphite", "rare earths (NdPr oxide)", "tungsten"]


def large_result(n_projects: int = 40, **setting_overrides) -> Result:
    """A plan funding ``n_projects`` synthetic projects over 2026-2045: plants with 0 to 18
    build years, offtakes of 1 to 5 years, long names, five minerals, a Sources sheet with long
    URLs. Only for drawing: the plan is evaluated, not solved."""
    values = dict(first_year=2026, horizon_years=20, target_year=2035)
    settings = Settings(**{**values, **setting_overrides})
    minerals = {m: Mineral(m, us_demand_t=1000.0 * (i + 1), china_share=0.5 + 0.1 * i,
                           target_china_share=0.3 if i % 2 == 0 else None)
                for i, m in enumerate(MINERALS)}
    projects, starts = {}, {}
    for i in range(n_projects):
        pid = f"P{i:02d}-{'PLANT' if i % 3 else 'OFFTAKE'}"
        offtake = i % 3 == 0
        name = (f"Project {i}: " + ("Long-term offtake agreement with a very long counterparty "
                                    "name Ltd" if i % 5 == 0 else "Refinery")
                if not offtake else f"Offtake {i}")
        build = 0 if offtake else [18, 1, 3, 6, 10][i % 5]
        start = 2026 + (i % 2)
        projects[pid] = Project(
            pid, name, "offtake" if offtake else "plant", MINERALS[i % 5], "Australia",
            capex_low_musd=0.0 if offtake else 50.0 + i,
            capex_high_musd=0.0 if offtake else 70.0 + i,
            build_years=build, earliest_start=2026, latest_start=2027, capacity_tpa=20.0 + i,
            npv_musd=10.0 - i, operating_years=1 + i % 5 if offtake else None, risk=0.05 * (i % 10),
        )
        starts[pid] = start
    budget = {t: 400.0 for t in settings.years}
    sources = (SourceRow(("China share of gallium", "USGS Mineral Commodity Summaries 2025",
                          "https://pubs.usgs.gov/periodicals/mcs2025/mcs2025-gallium-and-a-"
                          "very-long-path-without-spaces.pdf", "2025-01-31",
                          "net import reliance x China share of refined output")),)
    instance = Instance(settings=settings, minerals=minerals, projects=projects, budget=budget,
                        name="large", source_path="large.xlsx", input_sha256="cd" * 32,
                        sources_header=("item", "source", "url", "date", "method"),
                        sources=sources)
    evaluation = evaluate(instance, starts)
    value = evaluation.objective_value(settings.objective)
    info = SolveInfo(status="feasible", solver="HiGHS test", mip_gap=0.0042, best_bound=value,
                     solve_seconds=60.0, build_seconds=0.5, model_objective=value)
    return Result(instance=instance, starts=starts, evaluation=evaluation, info=info)


@pytest.mark.parametrize("draw", CHART_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("result", [make_result(), make_result(budget_carryover=True,
                                                               robust_gamma=1), large_result()],
                         ids=["small", "carryover", "large"])
def test_every_chart_is_a_figure_with_labelled_axes(draw, result):
    fig = draw(result)
    assert isinstance(fig, Figure)
    assert fig.axes
    for ax in fig.axes:
        assert ax.get_xlabel().strip(), f"{draw.__name__}: an x axis has no label"
        assert ax.get_ylabel().strip(), f"{draw.__name__}: a y axis has no label"


def test_save_png_writes_a_png(tmp_path):
    path = charts.save_png(charts.spend_figure(make_result()), tmp_path / "spend.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000


def test_charts_do_not_use_pyplot():
    code = ("import sys; import optimizer.charts as c; import helpers; "
            "c.save_png(c.timeline_figure(helpers.make_result()), '/dev/null'); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd="tests")


def test_gantt_rows_are_the_funded_projects_in_start_order():
    result = make_result()
    ax = charts.timeline_figure(result).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    names = [result.instance.projects[p].name for p in result.funded_ids]
    assert labels == [charts.mathtext_safe(n) for n in names]
    assert ax.get_xlim() == (2026, 2032)  # first_year to the end of the last year


def test_gantt_build_and_operating_spans():
    result = make_result()
    # GA-PLANT: start 2027, build 2 years, operates to the horizon end (2031 inclusive).
    assert charts.project_spans(result, "GA-PLANT") == ((2027, 2), (2029, 3))
    # GR-OFFTAKE: no build, 4 operating years from 2026.
    assert charts.project_spans(result, "GR-OFFTAKE") == ((2026, 0), (2026, 4))


def test_gantt_with_40_projects_has_no_overlapping_labels():
    result = large_result(40)
    fig = charts.timeline_figure(result)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) == 40
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.y0)
    for lower, upper in zip(boxes, boxes[1:]):
        assert lower.y1 <= upper.y0 + 0.01, "two project labels overlap"
    figure_box = fig.bbox
    for box in boxes:
        assert box.x0 >= 0 and box.x1 <= figure_box.x1, "a label is cut off at the figure edge"
    xboxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()),
                    key=lambda b: b.x0)
    for left, right in zip(xboxes, xboxes[1:]):
        assert left.x1 <= right.x0, "two year labels overlap"


def test_gantt_height_scales_with_rows():
    small = charts.timeline_figure(large_result(5)).get_size_inches()[1]
    big = charts.timeline_figure(large_result(40)).get_size_inches()[1]
    assert big > small + 35 * charts.ROW_IN * 0.99


def test_long_names_are_shortened_on_the_axis():
    assert charts.shorten("x" * 100).endswith("\u2026")
    assert len(charts.shorten("x" * 100)) == charts.MAX_LABEL_CHARS
    assert charts.shorten("a\nb") == "a b"


def test_binding_years_follow_the_xlsx_rule():
    for result in (make_result(), make_result(budget_carryover=True), make_result(robust_gamma=1)):
        expected = [row[0] for row in spend_rows(result) if row[6] == "yes"]
        assert charts.binding_years(result) == expected
    assert charts.binding_years(make_result()) == [2027, 2028]


def test_spend_chart_marks_binding_years():
    result = make_result()
    ax = charts.spend_figure(result).axes[0]
    bars = ax.patches[: len(result.instance.settings.years)]
    red = {int(round(b.get_x() + b.get_width() / 2)) for b in bars
           if b.get_facecolor()[:3] == pytest.approx((0xC0 / 255, 0x39 / 255, 0x2B / 255))}
    assert red == {2027, 2028}
    heights = {int(round(b.get_x() + b.get_width() / 2)): b.get_height() for b in bars}
    assert heights == pytest.approx({t: v for t, v in result.evaluation.spend.items()})
    assert ax.get_ylabel() == "$M"


def test_spend_chart_with_carryover_has_a_cumulative_panel():
    fig = charts.spend_figure(make_result(budget_carryover=True))
    assert len(fig.axes) == 2
    assert "cumulative" in fig.axes[1].get_title(loc="left").lower()


def test_china_chart_has_one_panel_per_mineral_with_target():
    result = large_result(10)
    fig = charts.china_share_figure(result)
    assert [ax.get_title(loc="left") for ax in fig.axes] == MINERALS
    for ax, (name, mineral) in zip(fig.axes, result.instance.minerals.items()):
        after = ax.lines[1].get_ydata()
        assert list(after) == pytest.approx(list(result.evaluation.share_after[name].values()))
        has_target = len(ax.collections) > 0
        assert has_target == (mineral.target_china_share is not None)
