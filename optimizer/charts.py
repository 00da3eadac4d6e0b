"""Charts of a plan: pure functions of a :class:`~optimizer.results.Result` returning matplotlib
Figures, and :func:`save_png` to write one.

Nothing here touches pyplot or any global matplotlib state: each Figure is built with the
object-oriented API (``matplotlib.figure.Figure``) on an Agg canvas, so charts can be drawn in
worker threads and batch jobs without a display. Units: money $M, shares shown as percent of US
demand, calendar years on the x axes. Sizes are in inches and fit an A4 page's text width (about
6.9 in) at 1:1, so the fonts (7.5 to 9 pt) stay legible in print.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .tables import is_binding
from .results import Result

if TYPE_CHECKING:
    from .analyses.frontier import Measure

DPI = 150
WIDTH_IN = 7.0  # figure width, inches: an A4 text width at 1:1
LABEL_PT = 8.0  # tick and legend labels, points
TITLE_PT = 9.5
MAX_LABEL_CHARS = 38  # longer project names are shortened with an ellipsis on the Gantt axis
ROW_IN = 0.21  # height of one Gantt row, inches (15 pt: room for an 8 pt label)
# Large portfolios: a list of up to FULL_LIST_MAX projects is shown in full (Gantt rows, the
# memo's tables); a longer one shows the TOP_PROJECTS largest by capex (the memo sums the rest in
# one row), so a chart's height and a memo's length stay bounded whatever the portfolio's size.
FULL_LIST_MAX = 40
TOP_PROJECTS = 25
MAX_MINERAL_PANELS = 12  # China-share panels: at most 4 rows of 3

# Colours that stay distinct in greyscale print (light against dark), with hatching as backup.
BUILD_COLOUR = "#f2b36b"  # light orange: build years (capital spent, nothing delivered)
OPERATE_COLOUR = "#1f4e78"  # dark blue: operating years (delivering)
SPEND_COLOUR = "#5b87b5"
BINDING_COLOUR = "#c0392b"
BUDGET_COLOUR = "#222222"
BEFORE_COLOUR = "#7f7f7f"
AFTER_COLOUR = "#1f4e78"
TARGET_COLOUR = "#c0392b"


def new_figure(width_in: float, height_in: float) -> Figure:
    """A Figure on its own Agg canvas (no pyplot, no global state), constrained layout."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG at ``dpi`` dots per inch; return the path."""
    path = Path(path)
    fig.savefig(path, dpi=dpi, format="png", facecolor="white")
    return path


def printable(text: str) -> str:
    """``text`` without control, format, surrogate and unassigned characters (a font has no glyph
    for them)."""
    return "".join(c for c in str(text) if not unicodedata.category(c).startswith("C")
                   or c in "\t\n\r")


def shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` printable and on one line, cut to ``limit`` characters with an ellipsis."""
    one_line = " ".join(printable(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "\u2026"


def mathtext_safe(text: str) -> str:
    """Text matplotlib shows literally: ``$`` would start mathtext, so it is escaped."""
    return text.replace("$", r"\$")


def year_axis(ax, first_year: int, last_year: int) -> None:
    """Integer year ticks from first_year to the end of last_year, at most about 12 labels."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True, min_n_ticks=2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(round(v))}"))
    ax.tick_params(labelsize=LABEL_PT)


def percent_axis(ax) -> None:
    """Y axis showing fractions as percent."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{100 * v:.0f}%"))


def binding_years(result: Result) -> list[int]:
    """Horizon years whose budget row is (nearly) used up, by the rule of ``results.xlsx``:
    headroom ``row_budget - row_spend`` below 0.5% of ``row_budget`` or below 0.01 $M. The rows are
    per year, or cumulative with budget carry-over, counting overruns when robust_gamma > 0."""
    ev = result.evaluation
    return [t for t in result.instance.settings.years
            if is_binding(ev.row_budget[t] - ev.row_spend[t], ev.row_budget[t])]


# ---------------------------------------------------------------------------------------------
# Large portfolios


def largest_by_capex(ids: Sequence[str], capex: Mapping[str, float]) -> list[str]:
    """The projects of ``ids`` to list by name: all of them when there are at most
    :data:`FULL_LIST_MAX`, else the :data:`TOP_PROJECTS` with the largest ``capex`` ($M; ties:
    the earlier in ``ids``). Either way in the order of ``ids``."""
    if len(ids) <= FULL_LIST_MAX:
        return list(ids)
    keep = set(sorted(ids, key=lambda pid: -capex[pid])[:TOP_PROJECTS])
    return [pid for pid in ids if pid in keep]


def gantt_projects(result: Result) -> list[str]:
    """The funded projects the timeline shows, in start order: all, or in a large portfolio the
    :data:`TOP_PROJECTS` largest by capex (see :func:`largest_by_capex`)."""
    return largest_by_capex(result.funded_ids, result.evaluation.capex)


def mineral_panels(result: Result) -> list[str]:
    """The minerals the China-share chart draws: the first :data:`MAX_MINERAL_PANELS` in
    workbook order."""
    return list(result.instance.minerals)[:MAX_MINERAL_PANELS]


# ---------------------------------------------------------------------------------------------
# Timeline (Gantt)


def project_spans(result: Result, project_id: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(build, operating) spans of a funded project as (first year, number of years), clipped to
    the horizon. Build years run from the start to the online year; operating years from the
    online year for ``operating_years`` (to the horizon end when blank)."""
    s = result.instance.settings
    p = result.instance.projects[project_id]
    start, online = result.starts[project_id], result.evaluation.online[project_id]
    horizon_end = s.last_year + 1  # exclusive
    build = (start, max(0, min(online, horizon_end) - start))
    end = horizon_end if p.operating_years is None else min(online + p.operating_years, horizon_end)
    operate = (online, max(0, end - online))
    return build, operate


def timeline_figure(result: Result) -> Figure:
    """Gantt chart of the funded projects: one row per project (start order, first at the top),
    build years light, operating years dark, x axis first_year to the horizon end. The height
    grows with the number of rows so that 40 labels never overlap; above
    :data:`FULL_LIST_MAX` funded projects only the :data:`TOP_PROJECTS` largest by capex are
    drawn (:func:`gantt_projects`), and the title says so."""
    s = result.instance.settings
    ids = gantt_projects(result)
    n = max(len(ids), 1)
    fig = new_figure(WIDTH_IN, 1.45 + ROW_IN * n)
    ax = fig.add_subplot()
    for row, pid in enumerate(ids):
        build, operate = project_spans(result, pid)
        if build[1]:
            ax.broken_barh([build], (row - 0.38, 0.76), facecolors=BUILD_COLOUR,
                           edgecolor="#8a5a1f", linewidth=0.5)
        if operate[1]:
            ax.broken_barh([operate], (row - 0.38, 0.76), facecolors=OPERATE_COLOUR,
                           edgecolor=OPERATE_COLOUR, linewidth=0.5)
    names = [mathtext_safe(shorten(result.instance.projects[pid].name)) for pid in ids]
    ax.set_yticks(range(len(ids)), names, fontsize=LABEL_PT)
    ax.set_ylim(n - 0.5, -0.5)  # first project at the top
    ax.set_xlim(s.first_year, s.last_year + 1)
    year_axis(ax, s.first_year, s.last_year)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("Year", fontsize=LABEL_PT)
    ax.set_ylabel("Funded project", fontsize=LABEL_PT)
    ax.set_title(gantt_title(len(ids), len(result.starts)), fontsize=TITLE_PT, loc="left")
    if not ids:
        ax.text(0.5, 0.5, "No project is funded", transform=ax.transAxes, ha="center",
                va="center", fontsize=TITLE_PT)
    fig.legend(handles=[Patch(facecolor=BUILD_COLOUR, edgecolor="#8a5a1f",
                              label="build years (capital spent)"),
                        Patch(facecolor=OPERATE_COLOUR, label="operating years (delivering)")],
               loc="outside lower center", ncols=2, fontsize=LABEL_PT, frameon=False)
    return fig


def gantt_title(shown: int, funded: int) -> str:
    """The Gantt chart's title; it names the selection when not every project is drawn."""
    if shown == funded:
        return "Build and operating years of the funded projects"
    return (f"Build and operating years of the {shown} largest of the {funded:,} funded projects "
            "by capex")


# ---------------------------------------------------------------------------------------------
# Spend against budget


def spend_figure(result: Result) -> Figure:
    """Capital spend per year (bars, $M) against the year's budget (step line); bars of the years
    where the budget binds are red and hatched. With budget carry-over a second panel shows the
    cumulative spend and budget, which is the limit that then applies. With robust_gamma > 0 the
    spend counting the worst overruns (the side the budget must hold for) is drawn as points."""
    s = result.instance.settings
    ev = result.evaluation
    years = list(s.years)
    binding = set(binding_years(result))
    panels = 2 if s.budget_carryover else 1
    fig = new_figure(WIDTH_IN, 3.1 * panels)
    axes = [fig.add_subplot(panels, 1, i + 1) for i in range(panels)]
    ax = axes[0]
    colours = [BINDING_COLOUR if (t in binding and not s.budget_carryover) else SPEND_COLOUR
               for t in years]
    hatches = ["///" if (t in binding and not s.budget_carryover) else "" for t in years]
    bars = ax.bar(years, [ev.spend[t] for t in years], width=0.7, color=colours,
                  edgecolor="white", linewidth=0.5)
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
    step_line(ax, years, [ev.budget[t] for t in years], "budget of the year")
    if s.robust_gamma > 0 and not s.budget_carryover:
        ax.plot(years, [ev.row_spend[t] for t in years], "v", color=BINDING_COLOUR, ms=4,
                label=f"spend with the {s.robust_gamma} largest overruns")
    handles, labels = ax.get_legend_handles_labels()
    handles.insert(0, Patch(facecolor=SPEND_COLOUR, label="spend"))
    if binding and not s.budget_carryover:
        handles.insert(1, Patch(facecolor=BINDING_COLOUR, hatch="///", edgecolor="white",
                                label="spend where the budget binds"))
    below_legend(ax, handles)
    ax.set_title("Capital spend against the budget of each year", fontsize=TITLE_PT, loc="left")
    money_axes(ax, years)
    if s.budget_carryover:
        cumulative_panel(axes[1], result, years, binding)
    return fig


def step_line(ax, years: Sequence[int], values: Sequence[float], label: str,
              **style) -> None:
    """A step line across each year's bar slot (year - 0.5 .. year + 0.5)."""
    xs = [years[0] - 0.5, *[t + 0.5 for t in years]]
    ax.stairs(values, xs, color=style.pop("color", BUDGET_COLOUR), linewidth=1.6, label=label,
              baseline=None, **style)


def below_legend(ax, handles: list) -> None:
    """A frameless legend under the x axis label, in one row when it fits."""
    ax.legend(handles=handles, fontsize=LABEL_PT, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.2), ncols=min(len(handles), 3))


def money_axes(ax, years: Sequence[int]) -> None:
    """Year x axis and a $M y axis starting at 0."""
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    year_axis(ax, years[0], years[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Year", fontsize=LABEL_PT)
    ax.set_ylabel("$M", fontsize=LABEL_PT)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def cumulative_panel(ax, result: Result, years: list[int], binding: set[int]) -> None:
    """Cumulative spend (line) against cumulative budget (step), binding years marked."""
    ev = result.evaluation
    cum_spend, cum_budget, total_s, total_b = [], [], 0.0, 0.0
    for t in years:
        total_s += ev.spend[t]
        total_b += ev.budget[t]
        cum_spend.append(total_s)
        cum_budget.append(total_b)
    ax.bar(years, cum_spend, width=0.7, color=SPEND_COLOUR, label="cumulative spend", zorder=1)
    step_line(ax, years, cum_budget, "cumulative budget")
    if result.instance.settings.robust_gamma > 0:
        ax.plot(years, [ev.row_spend[t] for t in years], "v", color=BINDING_COLOUR, ms=4,
                label="cumulative spend with the largest overruns")
    marked = [t for t in years if t in binding]
    if marked:
        ax.plot(marked, [ev.row_budget[t] for t in marked], "o", color=BINDING_COLOUR, ms=6,
                label="budget binds (carry-over exhausted)")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] != "cumulative spend")
    below_legend(ax, [handles[i] for i in order])
    ax.set_title("With carry-over: cumulative spend against cumulative budget",
                 fontsize=TITLE_PT, loc="left")
    money_axes(ax, years)


# ---------------------------------------------------------------------------------------------
# China reliance


def china_share_figure(result: Result) -> Figure:
    """One panel per mineral: China's share of US demand without the plan (dashed) and with it
    (solid), and the target (horizontal line from target_year) where one is set. Shares in
    percent, years on the x axis. At most :data:`MAX_MINERAL_PANELS` minerals are drawn (the
    first in workbook order, :func:`mineral_panels`); the figure's title then says how many."""
    inst, ev = result.instance, result.evaluation
    s = inst.settings
    names = mineral_panels(result)
    cols = 1 if len(names) <= 1 else 2 if len(names) <= 4 else 3
    rows = max(1, math.ceil(len(names) / cols))
    fig = new_figure(WIDTH_IN, 0.6 + 2.3 * rows)
    years = list(s.years)
    legend: dict[str, object] = {}  # label -> handle, first seen, shared by all panels
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        mineral = inst.minerals[name]
        ax.plot(years, [ev.share_before[name][t] for t in years], "--", color=BEFORE_COLOUR,
                linewidth=1.4, label="without the plan")
        ax.plot(years, [ev.share_after[name][t] for t in years], "-", color=AFTER_COLOUR,
                linewidth=2.0, marker="o" if len(years) <= 12 else None, ms=3,
                label="with the plan")
        if mineral.target_china_share is not None and s.target_year is not None:
            ax.hlines(mineral.target_china_share, s.target_year, s.last_year,
                      colors=TARGET_COLOUR, linestyles=":", linewidth=1.8,
                      label=f"target from {s.target_year}")
        ax.set_title(mathtext_safe(shorten(name, 30)), fontsize=TITLE_PT, loc="left")
        ax.set_ylim(0, max(1.0, *(ev.share_before[name][t] for t in years)) * 1.02)
        ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
        year_axis(ax, years[0], years[-1])
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6 if cols > 1 else 12, integer=True))
        percent_axis(ax)
        ax.set_xlabel("Year", fontsize=LABEL_PT)
        ax.set_ylabel("China share of US demand", fontsize=LABEL_PT)
        ax.grid(color="#e5e5e5", linewidth=0.6)
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if not names:
        ax = fig.add_subplot()
        ax.set_xlabel("Year")
        ax.set_ylabel("China share of US demand")
        ax.text(0.5, 0.5, "No minerals", transform=ax.transAxes, ha="center")
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), loc="outside lower center",
                   ncols=len(legend), fontsize=LABEL_PT, frameon=False)
    if len(names) < len(inst.minerals):
        fig.suptitle(f"The first {len(names)} of {len(inst.minerals):,} minerals, in workbook "
                     "order", fontsize=TITLE_PT, x=0.01, ha="left")
    return fig


# ---------------------------------------------------------------------------------------------
# Trade-offs: the NPV / China-reliance frontier

FRONTIER_COLOUR = "#1f4e78"
CHOSEN_COLOUR = "#c0392b"
TOL_NPV = 1e-6  # $M: a frontier point is the chosen plan when both criteria match to this
TOL_SECURITY = 1e-9  # share-years


def frontier_points(result: Result) -> tuple[list[dict], Measure]:
    """The frontier rows of ``result.analyses["frontier"]`` that have both criteria and a number
    under the measure they were traced on, in the analysis's order (by that measure), and the
    measure (:func:`optimizer.analyses.frontier.measure_of`). The chart and the memo's table
    number these points 1, 2, ..."""
    from .analyses.frontier import measure_of

    rows = result.analyses.tables().get("frontier") or []
    points = [r for r in rows if isinstance(r, Mapping)
              and isinstance(r.get("npv_musd"), (int, float))
              and isinstance(r.get("security_share_years"), (int, float))]
    measure = measure_of(points, result.instance.settings.objective)
    return [p for p in points if isinstance(p.get(measure.key), (int, float))
            and not isinstance(p.get(measure.key), bool)], measure


def chosen_point(result: Result, points: Sequence[dict] | None = None) -> int | None:
    """Index of the frontier point that is the chosen plan (same NPV and China reliance removed),
    or None when the chosen plan is none of the traced points."""
    points = frontier_points(result)[0] if points is None else points
    ev = result.evaluation
    for i, p in enumerate(points):
        if (abs(p["npv_musd"] - ev.npv_musd) <= TOL_NPV * max(1.0, abs(ev.npv_musd))
                and abs(p["security_share_years"] - ev.security)
                <= TOL_SECURITY * max(1.0, abs(ev.security)) + 1e-7):
            return i
    return None


def frontier_figure(result: Result) -> Figure:
    """NPV ($M, y axis) against the security measure the frontier was traced on (x axis: the
    security value at the workbook's premiums, $M, for the weighted objective; China reliance
    removed, share-years, otherwise; the axis title says which) of the frontier points of
    ``result.analyses["frontier"]``, numbered 1, 2, ... in the order of the analysis (the memo's
    table uses the same numbers), joined by the staircase of the best traced NPV for at least
    that much security; the chosen plan is marked with a red star."""
    from .analyses.frontier import SHARE_YEARS

    points, measure = frontier_points(result)
    fig = new_figure(WIDTH_IN, 3.6)
    ax = fig.add_subplot()
    xs = [p[measure.key] for p in points]
    ys = [p["npv_musd"] for p in points]
    handles = []
    if points:
        # steps-pre: between two points, the best traced NPV with at least that much security
        # is that of the point on the right
        (stairs,) = ax.plot(xs, ys, drawstyle="steps-pre", color=FRONTIER_COLOUR, linewidth=1.0,
                            alpha=0.55, label="best NPV among the traced plans")
        (dots,) = ax.plot(xs, ys, "o", color=FRONTIER_COLOUR, ms=6, zorder=3,
                          label="frontier plan (number as in the table)")
        handles += [dots, stairs]
        for i, (x, y) in enumerate(zip(xs, ys)):
            # up and right of a point is free: the staircase reaches it from the left, then drops
            ax.annotate(str(i + 1), (x, y), xytext=(5, 4), textcoords="offset points",
                        fontsize=LABEL_PT, color=FRONTIER_COLOUR, fontweight="bold")
    ev = result.evaluation
    own = ev.objective_value(measure.name)
    (star,) = ax.plot([own], [ev.npv_musd], "*", color=CHOSEN_COLOUR, ms=14, zorder=4,
                      markeredgecolor="white", markeredgewidth=0.6, label="recommended plan")
    handles.append(star)
    pad_axes(ax, [*xs, own], [*ys, ev.npv_musd])
    ax.set_xlabel(mathtext_safe(measure.axis), fontsize=LABEL_PT)
    ax.set_ylabel(mathtext_safe("Portfolio NPV ($M, discounted)"), fontsize=LABEL_PT)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    if measure is SHARE_YEARS:
        ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.tick_params(labelsize=LABEL_PT)
    ax.grid(color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(mathtext_safe(f"Trade-off: NPV against {measure.words}"), fontsize=TITLE_PT,
                 loc="left")
    if not points:
        ax.text(0.5, 0.5, "No frontier point", transform=ax.transAxes, ha="center",
                va="center", fontsize=TITLE_PT)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
               fontsize=LABEL_PT, frameon=False)
    return fig


def pad_axes(ax, xs: Sequence[float], ys: Sequence[float], fraction: float = 0.08) -> None:
    """Axis limits around the data with a margin (room for the point labels); a range of zero
    width gets a small one of its own."""
    for values, setter in ((xs, ax.set_xlim), (ys, ax.set_ylim)):
        lo, hi = min(values), max(values)
        span = hi - lo
        pad = span * fraction if span > 0 else max(abs(hi) * 0.05, 0.01)
        setter(lo - pad, hi + pad)


# ---------------------------------------------------------------------------------------------
# Monte Carlo: distribution of NPV and total capex

HISTOGRAM_COLOUR = "#5b87b5"
QUANTILE_COLOUR = "#222222"
PLANNED_COLOUR = "#c0392b"
# simulate.MEASURES labels, in the order of the panels, with the axis label of each
SIMULATION_PANELS = (("NPV $M", "Portfolio NPV ($M, discounted)"),
                     ("total capex $M", "Total capital cost ($M)"))


def simulation_figure(result: Result) -> Figure:
    """Histograms of the simulated NPV and total capex
    (``result.analyses["simulation_histogram"]``), one panel each, share of draws on the y axis,
    with the P10 and P90 (dotted), the P50 (dashed) and the planned value (red) of
    ``simulation_summary`` where present."""
    analyses = result.analyses.tables()
    bins = [r for r in analyses.get("simulation_histogram") or [] if isinstance(r, Mapping)]
    summary = {r.get("measure"): r for r in analyses.get("simulation_summary") or []
               if isinstance(r, Mapping)}
    panels = [(m, label) for m, label in SIMULATION_PANELS if any(b.get("measure") == m
                                                                  for b in bins)]
    panels = panels or list(SIMULATION_PANELS[:1])
    fig = new_figure(WIDTH_IN, 2.9)
    legend: dict[str, object] = {}
    for i, (measure, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        rows = [b for b in bins if b.get("measure") == measure]
        if rows:
            edges = [rows[0]["bin_low_musd"], *(b["bin_high_musd"] for b in rows)]
            ax.stairs([b["share"] for b in rows], edges, fill=True, color=HISTOGRAM_COLOUR,
                      alpha=0.85, label="share of draws")
            ax.stairs([b["share"] for b in rows], edges, color=FRONTIER_COLOUR, linewidth=0.6)
        else:
            ax.text(0.5, 0.5, "No draws", transform=ax.transAxes, ha="center", va="center")
        stats = summary.get(measure, {})
        for key, style in (("p10", ":"), ("p50", "--"), ("p90", ":")):
            if isinstance(stats.get(key), (int, float)):
                ax.axvline(stats[key], color=QUANTILE_COLOUR, linestyle=style, linewidth=1.1,
                           label="P50 (median)" if key == "p50" else "P10 and P90")
        if isinstance(stats.get("planned"), (int, float)):
            ax.axvline(stats["planned"], color=PLANNED_COLOUR, linewidth=1.6,
                       label="planned (no overrun, no delay)")
        ax.set_xlabel(mathtext_safe(label), fontsize=LABEL_PT)
        ax.set_ylabel("Share of draws", fontsize=LABEL_PT)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{100 * v:.0f}%"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.tick_params(labelsize=LABEL_PT)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        title = "Simulated NPV" if measure.startswith("NPV") else "Simulated total capital cost"
        ax.set_title(title, fontsize=TITLE_PT, loc="left")
        for handle, text in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(text, handle)
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), loc="outside lower center",
                   ncols=len(legend), fontsize=LABEL_PT, frameon=False)
    return fig
