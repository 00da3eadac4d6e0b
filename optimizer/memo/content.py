"""What the decision memo says: one :class:`~optimizer.memo.model.Document` built from a Result.

Every figure comes from the Result (``result.evaluation``, ``result.info``, ``result.instance``,
``result.analyses``), formatted by :mod:`optimizer.memo.text`; nothing is typed into a template.
The sections, in order: Recommendation, The portfolio, Timeline, Money, China reliance, Why not
the others, Budget sensitivity, then the optional analyses present in ``result.analyses`` (see
:data:`OPTIONAL_SECTIONS`: Trade-offs (frontier and budget ladder), Robust budgets, Risk (Monte
Carlo), Scenarios, Near-optimal alternatives), any other list-of-dict analysis as a generic table,
and last Assumptions and provenance.

A large portfolio keeps the memo short: a list of more than ``charts.FULL_LIST_MAX`` projects
(funded, left out, funded in some scenarios) shows the ``charts.TOP_PROJECTS`` largest by capex
(or the first, for lists without capex) and sums or counts the rest in one row, and the text
names the results.xlsx sheet holding the full list.

A later analysis adds a section with one :class:`OptionalSection` entry: by default its list of
dicts is shown as a titled table; ``build`` may supply its own blocks and ``chart`` a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from matplotlib.figure import Figure as MplFigure

from .. import __version__, charts
from ..evaluate import TOL
from ..report_xlsx import OBJECTIVE_WORDS, PORTFOLIO, REJECTED, sheet_title, spend_rows
from ..results import Result
from . import text as fmt
from .model import Block, Bullets, Document, Figure, Paragraph, Section, Table, sanitize

# Chart keys and the file each is written to, beside the memo.
CHART_FILES = {
    "timeline": "chart_timeline.png",
    "spend": "chart_spend.png",
    "china_share": "chart_china_share.png",
}
FIRST_NAMED = 3  # the recommendation names this many funded projects, then counts the rest


@dataclass(frozen=True)
class MemoContext:
    """What every section builder reads: the result, the chart PNGs written so far (chart key ->
    path) and the run date."""

    result: Result
    charts: Mapping[str, Path]
    run_time: datetime

    @property
    def report_year(self) -> int:
        """The year the memo reports shares for: target_year, else the horizon's last year."""
        s = self.result.instance.settings
        return s.target_year if s.target_year is not None else s.last_year


# ---------------------------------------------------------------------------------------------
# The document


def build_document(result: Result, charts: Mapping[str, Path] | None = None,
                   run_time: datetime | None = None) -> Document:
    """The whole memo for ``result``. ``charts`` maps chart keys (:data:`CHART_FILES` and those
    of optional sections) to PNG files already written; a missing chart is left out."""
    ctx = MemoContext(result, dict(charts or {}), run_time or datetime.now(timezone.utc))
    sections = [build(ctx) for build in CORE_SECTIONS]
    sections += optional_sections(ctx)
    sections.append(provenance(ctx))
    inst, s = result.instance, result.instance.settings
    subtitle = (f"{inst.name}: {len(inst.projects):,} candidate projects, {len(inst.minerals):,} "
                f"minerals, {s.first_year}\u2013{s.last_year}. Objective: "
                f"{OBJECTIVE_WORDS.get(s.objective, s.objective)}. Run "
                f"{ctx.run_time.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC.")
    return sanitize(Document(
        title="Decision memo: critical-mineral projects to fund",
        subtitle=subtitle,
        sections=tuple(sections),
    ))


def figure(ctx: MemoContext, key: str, caption: str, alt: str) -> tuple[Block, ...]:
    """The chart ``key`` as a figure block, or nothing when it was not drawn."""
    path = ctx.charts.get(key)
    return (Figure(path, caption, alt),) if path is not None else ()


def label(result: Result, project_id: str) -> str:
    return fmt.project_label(result.instance.projects[project_id].name, project_id)


# ---------------------------------------------------------------------------------------------
# 1. Recommendation


def recommendation(ctx: MemoContext) -> Section:
    """Three to five sentences: what to fund and when, capital and NPV, China shares, status."""
    result = ctx.result
    inst, ev, s = result.instance, result.evaluation, result.instance.settings
    funded = result.funded_ids
    sentences = [what_to_fund(result)]
    if funded:
        spend_years = [t for t in s.years if ev.spend[t] > TOL]
        when = ""
        if len(spend_years) == 1:
            when = f", spent in {spend_years[0]}"
        elif spend_years:
            when = f", spent from {spend_years[0]} to {spend_years[-1]}"
        capital = (f"They need {fmt.money(ev.total_capex)} of capital at the {s.capex_basis} "
                   f"capex basis{when}" if ev.total_capex > TOL else
                   "They need no capital")
        sentences.append(f"{capital}, and bring a portfolio NPV of {fmt.money(ev.npv_musd)}, "
                         f"discounted to {s.first_year}.")
    if inst.minerals:
        sentences.append(china_sentence(ctx))
    sentences.append(f"Solver status: {result.info.status_words}.")
    return Section("recommendation", "Recommendation",
                   (Paragraph(" ".join(sentences), style="lead"),))


def what_to_fund(result: Result) -> str:
    """"Fund 5 of the 12 candidate projects (3 plants and 2 offtake agreements), starting with
    A (A-1) in 2026, B (B-1) in 2027, C (C-1) in 2027 and 2 more starting through 2031." """
    inst = result.instance
    funded = result.funded_ids
    total = len(inst.projects)
    if not funded:
        return f"Fund none of the {fmt.plural(total, 'candidate project')}."
    kinds = fmt.kind_counts(inst.projects[p].kind for p in funded)
    if len(funded) == 1:
        return (f"Fund 1 of the {fmt.plural(total, 'candidate project')} ({kinds}): "
                f"{label(result, funded[0])}, starting in {result.starts[funded[0]]}.")
    named = [f"{label(result, p)} in {result.starts[p]}" for p in funded[:FIRST_NAMED]]
    rest = funded[FIRST_NAMED:]
    if rest:
        named.append(f"{len(rest):,} more starting through {max(result.starts[p] for p in rest)}")
    return (f"Fund {len(funded):,} of the {total:,} candidate projects ({kinds}), starting with "
            f"{fmt.join_words(named)}.")


def china_sentence(ctx: MemoContext) -> str:
    """China's share of US demand per mineral: today (first_year) and in the report year."""
    result = ctx.result
    inst, ev, s = result.instance, result.evaluation, result.instance.settings
    year = ctx.report_year
    met = result.target_met()
    parts = []
    for name, mineral in inst.minerals.items():
        today, then = ev.share_before[name][s.first_year], ev.share_after[name][year]
        if fmt.share(today) == fmt.share(then):
            part = f"for {name} it stays at {fmt.share(then)}"
        else:
            part = f"for {name} from {fmt.share(today)} to {fmt.share(then)}"
        if mineral.target_china_share is not None:
            status = (f"met from {met[name]}" if met.get(name) is not None else "not met")
            part += f" (target {fmt.share(mineral.target_china_share)}, {status})"
        parts.append(part)
    which = (f"in {year}, the target year" if s.target_year is not None
             else f"in {year}, the last year of the plan")
    return (f"With the plan, China's share of US demand goes from today's level "
            f"({s.first_year}) to its level {which}: {'; '.join(parts)}.")


# ---------------------------------------------------------------------------------------------
# 2. The portfolio


def portfolio(ctx: MemoContext) -> Section:
    """Table of the funded projects in start order, with a total row. A large portfolio (more
    than ``charts.FULL_LIST_MAX`` funded) lists the ``charts.TOP_PROJECTS`` largest by capex and
    sums the others in one row; the full list is in results.xlsx."""
    result = ctx.result
    inst, ev, s = result.instance, result.evaluation, result.instance.settings
    funded = result.funded_ids
    if not funded:
        return Section("portfolio", "The portfolio", (Paragraph("No project is funded."),))
    shown = charts.largest_by_capex(funded, ev.capex)
    rows = []
    for pid in shown:
        p = inst.projects[pid]
        rows.append((label(result, pid), p.kind, p.country, p.mineral, str(result.starts[pid]),
                     str(ev.online[pid]), fmt.amount(ev.capex[pid]), fmt.amount(p.npv_musd),
                     f"{p.risk:.2f}"))
    rest = others(funded, shown)
    if rest:
        rows.append((f"Other {fmt.plural(len(rest), 'funded project')}", "", "", "",
                     fmt.year_span(result.starts[p] for p in rest),
                     fmt.year_span(ev.online[p] for p in rest),
                     fmt.amount(sum(ev.capex[p] for p in rest)),
                     fmt.amount(sum(inst.projects[p].npv_musd for p in rest)), ""))
    footer = (f"Total: {fmt.plural(len(funded), 'project')}", "", "", "", "", "",
              fmt.amount(sum(ev.capex[p] for p in funded)),
              fmt.amount(sum(inst.projects[p].npv_musd for p in funded)), "")
    caption = ("Funded projects, in order of start year" if not rest else
               f"The {len(shown)} largest funded projects by capex, in order of start year, and "
               f"the other {len(rest):,} in one row")
    table = Table(
        header=("Project", "Kind", "Country", "Mineral", "Start", "Online", "Capex $M", "NPV $M",
                "Risk"),
        rows=tuple(rows), align=("left",) * 4 + ("right",) * 5,
        caption=caption, footer=footer,
    )
    note = Paragraph(
        f"Start: the year capital is first spent. Online: the first year of deliveries. Capex at "
        f"the {s.capex_basis} capex basis. NPV is each project's own NPV as given, valued at its "
        f"start year; discounted to {s.first_year} the funded projects' NPVs sum to "
        f"{fmt.money(ev.npv_musd)}, the portfolio NPV. Risk is the workbook's score from 0 to 1.",
        style="note")
    blocks: list[Block] = [table, note]
    if rest:
        blocks.insert(0, Paragraph(shortened_list(len(shown), len(funded), "funded projects",
                                                  PORTFOLIO)))
    return Section("portfolio", "The portfolio", tuple(blocks))


def others(ids: Sequence[str], shown: Sequence[str]) -> list[str]:
    """The projects of ``ids`` not in ``shown``, in the order of ``ids``."""
    kept = set(shown)
    return [pid for pid in ids if pid not in kept]


def shortened_list(shown: int, total: int, what: str, sheet: str) -> str:
    """The sentence that says a list is cut: which projects it shows and where the rest are."""
    return (f"The table lists the {shown} largest by capex of the {total:,} {what}; the other "
            f"{total - shown:,} are summed in one row. The full list is in results.xlsx, sheet "
            f"{sheet}.")


# ---------------------------------------------------------------------------------------------
# 3. Timeline


def timeline(ctx: MemoContext) -> Section:
    result = ctx.result
    s = result.instance.settings
    if not result.funded_ids:
        return Section("timeline", "Timeline", (Paragraph("No project is funded, so there is no "
                                                          "timeline."),))
    funded = result.funded_ids
    shown = charts.gantt_projects(result)
    late = [p for p in funded if result.evaluation.online[p] > s.last_year]
    rows = "One row per funded project"
    caption = "Build years (light) and operating years (dark) of each funded project"
    if len(shown) < len(funded):
        rows = (f"One row for each of the {len(shown)} largest funded projects by capex (of "
                f"{len(funded):,}; all are listed in results.xlsx, sheet {PORTFOLIO})")
        caption = (f"Build years (light) and operating years (dark) of the {len(shown)} largest "
                   f"of the {len(funded):,} funded projects by capex")
    blocks: list[Block] = [Paragraph(
        f"{rows}, from {s.first_year} to the end of {s.last_year}: light bars "
        f"are build years (capital is spent, nothing is delivered), dark bars are operating years "
        f"(deliveries count toward US supply). Bars stop at the horizon end.")]
    if late:
        blocks.append(Paragraph(
            f"Online only after {s.last_year}, so delivering nothing within the horizon: "
            f"{named_list(result, late)}.", style="note"))
    blocks += figure(ctx, "timeline", caption, "Gantt chart of the funded projects")
    return Section("timeline", "Timeline", tuple(blocks))


def named_list(result: Result, ids: Sequence[str]) -> str:
    """Projects as words: every label, or in a large portfolio the first
    ``charts.TOP_PROJECTS`` and a count of the rest."""
    if len(ids) <= charts.FULL_LIST_MAX:
        return fmt.join_words([label(result, p) for p in ids])
    named = [label(result, p) for p in ids[:charts.TOP_PROJECTS]]
    return fmt.join_words([*named, f"{len(ids) - len(named):,} more"])


# ---------------------------------------------------------------------------------------------
# 4. Money


def money(ctx: MemoContext) -> Section:
    """Spend against budget per year, the years where the budget binds marked in chart and table.

    The rows and the binding flag are those of ``results.xlsx`` (``report_xlsx.spend_rows``)."""
    result = ctx.result
    s, ev = result.instance.settings, result.evaluation
    rows = spend_rows(result)
    robust = s.robust_gamma > 0
    binding = [r[0] for r in rows if r[6] == "yes"]
    text = [f"Capital spent each year against that year's budget; total "
            f"{fmt.money(ev.total_capex)} of {fmt.money(sum(ev.budget.values()))} budgeted over "
            f"{s.first_year}\u2013{s.last_year}."]
    if s.total_budget_musd is not None:
        text.append(f"The total budget cap is {fmt.money(s.total_budget_musd)}.")
    if s.budget_carryover:
        text.append("Budget carry-over is on: unspent budget rolls into later years, so the limit "
                    "is the cumulative budget (lower panel of the chart), and binding is judged "
                    "on it.")
    if robust:
        text.append(f"Each budget row must hold even when the {s.robust_gamma} largest capex "
                    "overruns (to the high estimate) happen.")
    if binding:
        marker = ("red points in the chart's lower panel" if s.budget_carryover
                  else "red hatched bars in the chart")
        text.append(f"The budget binds in {fmt.year_list(binding)} ({marker}; \"yes\" under "
                    f"Binding in the table): more budget there could change the plan.")
    else:
        text.append("The budget binds in no year: every year keeps headroom.")
    header = ["Year", "Spend $M", "Budget $M", "Headroom $M", "Cumulative spend $M",
              "Cumulative budget $M", "Binding"]
    if robust:
        header.insert(6, "Spend with overruns $M")
    table_rows = []
    for r in rows:
        cells = [str(r[0]), *(fmt.amount(v) for v in r[1:6]), r[6]]
        if robust:
            cells.insert(6, fmt.amount(r[7]))
        table_rows.append(tuple(cells))
    footer = ["Total", fmt.amount(sum(r[1] for r in rows)), fmt.amount(sum(r[2] for r in rows)),
              fmt.amount(sum(r[3] for r in rows)), "", "", ""]
    if robust:
        footer.insert(6, "")
    table = Table(
        header=tuple(header), rows=tuple(table_rows),
        align=("left",) + ("right",) * (len(header) - 2) + ("center",),
        caption="Spend against budget per year ($M); rows where the budget binds are highlighted",
        emphasis=frozenset(i for i, r in enumerate(rows) if r[6] == "yes"),
        footer=tuple(footer),
    )
    blocks: list[Block] = [Paragraph(" ".join(text))]
    blocks += figure(ctx, "spend", "Capital spend (bars) against budget (line) per year, $M",
                     "Bar chart of spend against budget")
    blocks.append(table)
    return Section("money", "Money", tuple(blocks))


# ---------------------------------------------------------------------------------------------
# 5. China reliance


def china_reliance(ctx: MemoContext) -> Section:
    result = ctx.result
    inst, ev, s = result.instance, result.evaluation, result.instance.settings
    year = ctx.report_year
    met = result.target_met()
    rows = []
    for name, mineral in inst.minerals.items():
        target = mineral.target_china_share
        if target is None:
            met_text = "no target"
        else:
            met_text = str(met[name]) if met.get(name) is not None else "not met"
        rows.append((name, fmt.share(ev.share_before[name][s.first_year]),
                     fmt.share(ev.share_after[name][year]),
                     fmt.share(target) if target is not None else fmt.MISSING, met_text))
    which = "target year" if s.target_year is not None else "last year"
    table = Table(
        header=("Mineral", f"China share {s.first_year} (today)",
                f"China share {year} with the plan", "Target", "Target met from"),
        rows=tuple(rows), align=("left", "right", "right", "right", "right"),
        caption=f"China's share of US demand today and in the {which}, {year}",
    )
    intro = Paragraph(
        "China's share of US demand for each mineral: the part of demand mined or refined in "
        "China, less what the funded projects online that year deliver. The dashed line is the "
        "share without the plan, the solid line the share with it, the dotted line the target from "
        "the target year. \"Target met from\" is the first year from which the share stays at or "
        "below the target to the horizon end.")
    blocks: list[Block] = [intro]
    caption = ("China's share of US demand without the plan (dashed) and with it (solid), per "
               "mineral")
    drawn = len(charts.mineral_panels(result))
    if drawn < len(inst.minerals):
        caption += (f"; the first {drawn} of the {len(inst.minerals):,} minerals, in workbook "
                    "order (the table lists them all)")
    blocks += figure(ctx, "china_share", caption, "Line charts of China share per mineral")
    blocks.append(table)
    return Section("china", "China reliance", tuple(blocks))


# ---------------------------------------------------------------------------------------------
# 6. Why not the others


def why_not(ctx: MemoContext) -> Section:
    """Each rejected project with the reason the why-not re-solves found, in plain words."""
    result = ctx.result
    inst, s = result.instance, result.instance.settings
    rejected = result.rejected_ids
    analyses = result.analyses
    reasons = analyses.get("why_not")
    blocks: list[Block] = []
    if not rejected:
        return Section("why_not", "Why not the others",
                       (Paragraph("Every candidate project is funded."),))
    if not isinstance(reasons, Mapping):
        blocks.append(Paragraph(skipped_sentence(result, "The re-solves that explain why each "
                                                         "project is left out")))
        reasons = {}
    else:
        blocks.append(Paragraph(
            f"{len(rejected):,} of the {len(inst.projects):,} candidate projects "
            f"{'is' if len(rejected) == 1 else 'are'} left out. For each, the reason comes from "
            "re-solving the plan with that project forced in."))
    note = analyses.get("why_not_note")
    if note:
        blocks.append(Paragraph(str(note), style="note"))
    capex = {pid: inst.projects[pid].capex(s.capex_basis) for pid in rejected}
    shown = charts.largest_by_capex(rejected, capex)
    if len(shown) < len(rejected):
        blocks.append(Paragraph(shortened_list(len(shown), len(rejected), "projects left out",
                                               REJECTED) + " It gives the reason for each."))
    blocks.append(rejected_table(result, reasons, shown, capex))
    return Section("why_not", "Why not the others", tuple(blocks))


def rejected_table(result: Result, reasons: Mapping[str, Any], shown: Sequence[str],
                   capex: Mapping[str, float]) -> Table:
    """The projects left out, in workbook order, with their reasons: the ``shown`` ones by
    name; when that is not all of them, the others summed in one row and a total row. ``capex``:
    project -> capex at the capex basis, $M."""
    inst, s = result.instance, result.instance.settings
    rejected = result.rejected_ids
    has_loss = any(isinstance(reasons.get(p), Mapping) and reasons[p].get("objective_loss")
                   is not None for p in rejected)
    unit = fmt.objective_unit(s.objective)
    rows = []
    for pid in shown:
        p = inst.projects[pid]
        entry = reasons.get(pid)
        reason = reason_text(entry)
        row = [label(result, pid), p.kind, p.mineral, fmt.amount(capex[pid]),
               fmt.amount(p.npv_musd), reason]
        if has_loss:
            loss = entry.get("objective_loss") if isinstance(entry, Mapping) else None
            row.insert(5, fmt.objective_cell(loss, s.objective))
        rows.append(tuple(row))
    rest = others(rejected, shown)
    footer = None
    if rest:
        rows.append(summed_row(f"Other {fmt.plural(len(rest), 'project')} left out", rest,
                               capex, result, has_loss, f"see results.xlsx, sheet {REJECTED}"))
        footer = summed_row(f"Total: {fmt.plural(len(rejected), 'project')}", rejected, capex,
                            result, has_loss, "")
    header = ["Project", "Kind", "Mineral", "Capex $M", "NPV $M", "Reason"]
    align = ["left", "left", "left", "right", "right", "left"]
    if has_loss:
        header.insert(5, f"Objective lost if forced in ({unit})")
        align.insert(5, "right")
    caption = ("Projects left out, in workbook order" if not rest else
               f"The {len(shown)} largest projects left out by capex, in workbook order, and the "
               f"other {len(rest):,} in one row")
    return Table(tuple(header), tuple(rows), tuple(align),  # type: ignore[arg-type]
                 caption=caption, footer=footer)


def summed_row(title: str, ids: Sequence[str], capex: Mapping[str, float], result: Result,
               has_loss: bool, reason: str) -> tuple[str, ...]:
    """A row of the rejected table summing the capex and NPV ($M) of ``ids``."""
    row = [title, "", "", fmt.amount(sum(capex[p] for p in ids)),
           fmt.amount(sum(result.instance.projects[p].npv_musd for p in ids)), reason]
    if has_loss:
        row.insert(5, "")
    return tuple(row)


def reason_text(entry: Any) -> str:
    """The plain-words reason of a why-not entry, or "not analysed"."""
    if isinstance(entry, Mapping) and entry.get("reason"):
        return str(entry["reason"])
    if isinstance(entry, str) and entry:
        return entry
    return "not analysed"


def skipped_sentence(result: Result, what: str) -> str:
    """"<what> were skipped (--no-sensitivity)." or "... were not run." """
    if result.analyses.get("sensitivity_skipped"):
        return f"{what} were skipped: the run was made with --no-sensitivity."
    return f"{what} were not run for this memo."


# ---------------------------------------------------------------------------------------------
# 7. Budget sensitivity


def sensitivity(ctx: MemoContext) -> Section:
    """The plan re-solved with every yearly budget scaled: a table and what $1B more buys."""
    result = ctx.result
    inst, s = result.instance, result.instance.settings
    rows = result.analyses.get("sensitivity")
    title = "Budget sensitivity"
    if not isinstance(rows, (list, tuple)) or not rows:
        return Section("sensitivity", title, (Paragraph(skipped_sentence(
            result, "The re-solves with larger and smaller budgets")),))
    rows = sorted((r for r in rows if isinstance(r, Mapping)),
                  key=lambda r: r.get("budget_change") or 0.0)
    unit = fmt.objective_unit(s.objective)
    main = []
    for r in rows:
        main.append((
            change_label(r.get("budget_change")),
            fmt.amount(r.get("extra_budget_musd")),
            str(r.get("status", fmt.MISSING)),
            fmt.objective_cell(r.get("objective_value"), s.objective),
            fmt.amount(r.get("npv_musd")),
            fmt.amount(r.get("total_capex_musd")),
            fmt.cell_text("funded_count", r.get("funded_count")),
            fmt.objective_cell(r.get("objective_per_extra_busd"), s.objective),
        ))
    base = [i for i, r in enumerate(rows) if not r.get("budget_change")]
    table = Table(
        header=("Budget change", "Extra budget $M", "Status", f"Objective ({unit})", "NPV $M",
                "Capex $M", "Funded", f"Objective per extra $1B ({unit})"),
        rows=tuple(main), align=("left", "right", "left") + ("right",) * 5,
        caption="The plan re-solved with every yearly budget changed by the same fraction",
        emphasis=frozenset(base),
    )
    year = ctx.report_year
    share_rows = []
    for r in rows:
        share_rows.append((change_label(r.get("budget_change")),
                           *(fmt.share(r.get(f"china_share:{m}")) for m in inst.minerals)))
    shares = Table(
        header=("Budget change", *inst.minerals),
        rows=tuple(share_rows), align=("left",) + ("right",) * len(inst.minerals),
        caption=f"China's share of US demand in {year} under each budget",
        emphasis=frozenset(base),
    )
    blocks: list[Block] = [Paragraph(what_a_billion_buys(rows, s.objective)), table]
    if inst.minerals:
        blocks.append(shares)
    return Section("sensitivity", title, tuple(blocks))


def change_label(change: Any) -> str:
    """-0.3 -> "-30%", 0 or None -> "base"."""
    if not fmt.is_number(change) or change == 0:
        return "base"
    return fmt.percent_change(float(change))


def what_a_billion_buys(rows: Sequence[Mapping[str, Any]], objective: str) -> str:
    """One or two sentences on the change in the objective per $1B of budget added or cut."""
    def effect(r: Mapping[str, Any], cut: bool) -> str | None:
        value = r.get("objective_per_extra_busd")
        change = change_label(r.get("budget_change"))
        if str(r.get("status")) == "infeasible":
            return f"no plan is feasible at {change}"
        if not fmt.is_number(value):
            return None
        verb = ("lowers" if value >= 0 else "raises") if cut else (
            "raises" if value >= 0 else "lowers")
        return f"{verb} it by {fmt.objective_amount(abs(value), objective)} at {change}"

    added = [e for r in rows if (r.get("budget_change") or 0) > 0 if (e := effect(r, False))]
    cut = [e for r in rows if (r.get("budget_change") or 0) < 0 if (e := effect(r, True))]
    what = OBJECTIVE_WORDS.get(objective, objective)
    parts = []
    if added:
        parts.append(f"each extra $1B {fmt.join_words(added)}")
    if cut:
        parts.append(f"each $1B cut {fmt.join_words(cut)}")
    if not parts:
        return "The re-solves give no change in the objective per $1B of budget."
    return (f"What $1B of budget is worth in the objective ({what}): "
            f"{'; '.join(parts)}. Budget changes scale every year's budget by the same "
            f"fraction.")


# ---------------------------------------------------------------------------------------------
# Optional analyses: the registry and its machinery (the sections themselves follow)


@dataclass(frozen=True)
class OptionalSection:
    """A section shown only when one of its analyses is in ``result.analyses``.

    ``key`` is the main analysis: when it is present, ``chart`` (if any) is drawn and written as
    ``chart_<key>.png`` by :func:`optimizer.memo.write_charts`. ``also`` names further analyses
    the section shows, so that they get no generic section of their own; the section appears when
    ``key`` or any of them is present. ``section`` is the section's key in the document (its
    HTML id; default ``key``). ``build`` returns the blocks from the context and the section's
    analyses that are present (analysis key -> value); without it the main analysis is shown as
    ``intro``, the chart and a generic table."""

    key: str
    title: str
    intro: str
    build: Callable[[MemoContext, Mapping[str, Any]], tuple[Block, ...]] | None = None
    chart: Callable[[Result], MplFigure] | None = None
    also: tuple[str, ...] = ()
    section: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """Every analysis key the section shows, the main one first."""
        return (self.key, *self.also)

    @property
    def section_key(self) -> str:
        return self.section or self.key

    def present(self, analyses: Mapping[str, Any]) -> dict[str, Any]:
        """The section's analyses found in ``analyses`` (None counts as absent)."""
        return {k: analyses[k] for k in self.keys if analyses.get(k) is not None}


HANDLED_KEYS = {"why_not", "why_not_note", "sensitivity", "sensitivity_skipped"}


def generic_table(rows: Sequence[Mapping[str, Any]], caption: str = "") -> Table:
    """A list of dicts as a table: columns from the keys (first-seen order), cells formatted by
    key name (see :func:`optimizer.memo.text.cell_text`), numbers right-aligned."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    body = tuple(tuple(fmt.cell_text(k, row.get(k)) for k in keys) for row in rows)
    align = tuple("right" if any(fmt.is_number(r.get(k)) for r in rows) else "left"
                  for k in keys)
    return Table(tuple(fmt.header_for(k) for k in keys), body, align,  # type: ignore[arg-type]
                 caption=caption)


def is_table(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(r, Mapping) for r in value))


def optional_sections(ctx: MemoContext) -> list[Section]:
    """Registered analyses present in ``result.analyses`` (registry order), then any other list
    of dicts found there, as generic titled tables."""
    analyses = ctx.result.analyses
    sections = []
    known = {k for o in OPTIONAL_SECTIONS for k in o.keys}
    for option in OPTIONAL_SECTIONS:
        found = option.present(analyses)
        if not found:
            continue
        value = found.get(option.key)
        if option.build is not None:
            blocks = option.build(ctx, found)
        elif is_table(value):
            blocks = (Paragraph(option.intro), *figure(ctx, option.key, option.title, option.title),
                      generic_table(value, option.title))
        else:
            continue
        if blocks:
            sections.append(Section(option.section_key, option.title, tuple(blocks)))
    for key, value in analyses.items():
        if key in known or key in HANDLED_KEYS or not is_table(value):
            continue
        title = fmt.sentence_case(str(key).replace("_", " "))
        sections.append(Section(str(key), title, (generic_table(value, title),)))
    return sections


def rows_of(value: Any) -> list[Mapping[str, Any]]:
    """The dict rows of a list-of-dict analysis (anything else: no rows)."""
    if not isinstance(value, (list, tuple)):
        return []
    return [r for r in value if isinstance(r, Mapping)]


def number(value: Any) -> float | None:
    return float(value) if fmt.is_number(value) else None


def id_labels(result: Result, ids: Any) -> list[str]:
    """Comma-joined project ids (as the analyses write them) as "Name (ID)" labels."""
    if isinstance(ids, str):
        ids = [i.strip() for i in ids.split(",")]
    out = []
    for pid in ids or []:
        pid = str(pid)
        if not pid:
            continue
        out.append(label(result, pid) if pid in result.instance.projects else pid)
    return out


def ids_cell(value: Any, empty: str = fmt.MISSING) -> str:
    """Comma-joined project ids for a table cell, as written in results.json."""
    text = fmt.cell_text("ids", value) if value is not None else ""
    return text if text and text != fmt.MISSING else empty


# ---------------------------------------------------------------------------------------------
# 8. Trade-offs: the NPV / China-reliance frontier and the budget ladder


def tradeoffs(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    blocks: list[Block] = []
    if "frontier" in found:
        blocks += frontier_blocks(ctx)
    if "budget_ladder" in found:
        blocks += ladder_blocks(ctx, rows_of(found["budget_ladder"]))
    return tuple(blocks)


def frontier_blocks(ctx: MemoContext) -> list[Block]:
    """What moving along the frontier trades, the chart, and the points with the projects that
    change between neighbours. Points are numbered as in the chart
    (:func:`optimizer.charts.frontier_points`)."""
    result = ctx.result
    points = charts.frontier_points(result)
    chosen = charts.chosen_point(result, points)
    blocks: list[Block] = [Paragraph(
        "Each point is a portfolio that no other plan beats on both portfolio NPV and China "
        "reliance removed, found by maximizing NPV under rising floors on reliance removed. "
        "Reliance removed is counted in share-years: one share-year is a mineral's whole US "
        "demand freed from China for one year (weighted and discounted).")]
    if not points:
        blocks.append(Paragraph("The frontier analysis found no point."))
        return blocks
    blocks.append(Paragraph(" ".join(frontier_sentences(result, points, chosen))))
    blocks += figure(ctx, "frontier", "NPV against China reliance removed for each frontier "
                     "point (numbered as in the table); the red star is the recommended plan",
                     "Scatter chart of the NPV / China-reliance frontier")
    rows, same = [], []
    for i, p in enumerate(points):
        added, dropped = p.get("added"), p.get("dropped")
        if i > 0 and not added and not dropped:
            same.append(i + 1)
        rows.append((str(i + 1), fmt.share_years(p["security_share_years"]),
                     fmt.amount(p["npv_musd"]), fmt.amount(number(p.get("total_capex_musd"))),
                     fmt.cell_text("funded_count", p.get("funded_count")),
                     fmt.MISSING if i == 0 else ids_cell(added, "none"),
                     fmt.MISSING if i == 0 else ids_cell(dropped, "none")))
    caption = "Frontier points, by China reliance removed; added and dropped against the point " \
              "above"
    if chosen is not None:
        caption += "; the recommended plan is highlighted"
    blocks.append(Table(
        header=("Point", "Reliance removed (share-years)", "NPV $M", "Capex $M", "Funded",
                "Added", "Dropped"),
        rows=tuple(rows), align=("right",) * 5 + ("left", "left"), caption=caption,
        emphasis=frozenset({chosen}) if chosen is not None else frozenset()))
    first = [pid for pid in str(points[0].get("funded") or "").split(", ") if pid]
    note = (f"Point 1 funds {fmt.join_words(first)}." if first else "Point 1 funds nothing.")
    if same:
        which = (f"Point {same[0]} funds" if len(same) == 1 else
                 f"Points {fmt.join_words([str(n) for n in same])} fund")
        note += (f" {which} the same projects as the point above, with other start years "
                 "(\"none\" added or dropped).")
    note += " Every point's full list of funded projects is in results.xlsx (sheet Frontier)."
    blocks.append(Paragraph(note, style="note"))
    return blocks


def frontier_sentences(result: Result, points: Sequence[Mapping[str, Any]],
                       chosen: int | None) -> list[str]:
    """What moving along the frontier trades, and where the recommended plan sits."""
    ev = result.evaluation
    n = len(points)
    first, last = points[0], points[-1]
    out = []
    if n == 1:
        out.append(f"There is a single point ({fmt.money(first['npv_musd'])}, "
                   f"{fmt.share_years(first['security_share_years'])} share-years): the plan of "
                   "highest NPV also removes the most China reliance, so there is nothing to "
                   "trade.")
    else:
        lost = first["npv_musd"] - last["npv_musd"]
        gained = last["security_share_years"] - first["security_share_years"]
        out.append(
            f"Moving along the frontier trades NPV for China reliance removed: from point 1 "
            f"(highest NPV, {fmt.money(first['npv_musd'])}, "
            f"{fmt.share_years(first['security_share_years'])} share-years) to point {n} (most "
            f"reliance removed, {fmt.share_years(last['security_share_years'])} share-years, "
            f"{fmt.money(last['npv_musd'])}), NPV falls by {fmt.money(lost)} while reliance "
            f"removed rises by {fmt.share_years(gained)} share-years"
            + (f", {fmt.money(lost / gained)} of NPV per share-year on average." if gained > 0
               else "."))
        prices = [((points[i]["npv_musd"] - points[i + 1]["npv_musd"])
                   / (points[i + 1]["security_share_years"] - points[i]["security_share_years"]),
                   i) for i in range(n - 1)
                  if points[i + 1]["security_share_years"] > points[i]["security_share_years"]]
        if len(prices) >= 2:
            low, high = min(prices), max(prices)
            out.append(f"Step by step the price ranges from {fmt.money(low[0])} per share-year "
                       f"(point {low[1] + 1} to {low[1] + 2}) to {fmt.money(high[0])} "
                       f"(point {high[1] + 1} to {high[1] + 2}).")
    if chosen is not None:
        out.append(f"The recommended plan is point {chosen + 1} (red star in the chart, "
                   "highlighted in the table).")
    else:
        better = [i for i, p in enumerate(points)
                  if p["npv_musd"] >= ev.npv_musd - 1e-6
                  and p["security_share_years"] >= ev.security - 1e-9]
        between = [i for i in range(len(points) - 1)
                   if points[i]["security_share_years"] < ev.security
                   < points[i + 1]["security_share_years"]]
        if better:
            where = f"; point {better[0] + 1} has at least as much of both"
        elif between:
            i = between[0]
            where = (f" and no traced point beats it on both counts: it lies between points "
                     f"{i + 1} and {i + 2}, where a frontier with more points would show more "
                     "plans")
        else:
            where = " and no traced point beats it on both counts"
        objective = result.instance.settings.objective
        out.append(f"The recommended plan ({fmt.money(ev.npv_musd)}, "
                   f"{fmt.share_years(ev.security)} share-years; red star) is not one of the "
                   f"traced points{where}. It maximizes the workbook's objective "
                   f"({OBJECTIVE_WORDS.get(objective, objective)}), not either of these two "
                   "criteria alone.")
    return out


def ladder_blocks(ctx: MemoContext, rows: Sequence[Mapping[str, Any]]) -> list[Block]:
    """The optimum at each total budget: a sentence on where it stops growing, and the table."""
    result = ctx.result
    s = result.instance.settings
    unit = fmt.objective_unit(s.objective)
    if not rows:
        return [Paragraph("The budget ladder found no rung.")]
    table_rows, previous_feasible = [], False
    for r in rows:
        feasible = number(r.get("objective_value")) is not None
        if not feasible or not previous_feasible:  # no plan to compare with: no change shown
            changes = (fmt.MISSING, fmt.MISSING)
        else:
            changes = (ids_cell(r.get("added"), "none"), ids_cell(r.get("dropped"), "none"))
        previous_feasible = feasible
        table_rows.append((
            fmt.amount(number(r.get("total_budget_musd"))), str(r.get("status", fmt.MISSING)),
            fmt.objective_cell(number(r.get("objective_value")), s.objective),
            fmt.amount(number(r.get("npv_musd"))),
            fmt.share_years(number(r.get("security_share_years"))),
            fmt.amount(number(r.get("total_capex_musd"))),
            fmt.cell_text("funded_count", r.get("funded_count")),
            *changes,
        ))
    own = s.total_budget_musd
    table = Table(
        header=("Total budget $M", "Status", f"Objective ({unit})", "NPV $M",
                "Reliance removed (share-years)", "Capex $M", "Funded", "Added", "Dropped"),
        rows=tuple(table_rows), align=("right", "left") + ("right",) * 5 + ("left", "left"),
        caption="Budget ladder: the best plan under each cap on total capital; added and "
                "dropped against the row above (full lists in results.xlsx, sheet Budget ladder)"
                + ("; the workbook's own total budget is highlighted" if own is not None else ""),
        emphasis=frozenset(i for i, r in enumerate(rows) if own is not None
                           and is_close(number(r.get("total_budget_musd")), own)))
    return [Paragraph(" ".join(ladder_sentences(result, rows))), table]


def is_close(value: float | None, target: float) -> bool:
    return value is not None and abs(value - target) <= 1e-6 * max(1.0, abs(target))


def ladder_sentences(result: Result, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    s = result.instance.settings
    objective = s.objective
    budgets = [number(r.get("total_budget_musd")) for r in rows]
    out = [f"The budget ladder re-solves the plan for the workbook's objective "
           f"({OBJECTIVE_WORDS.get(objective, objective)}) under caps on total capital over the "
           f"horizon from {fmt.money(min(b for b in budgets if b is not None))} to "
           f"{fmt.money(max(b for b in budgets if b is not None))}; the yearly budgets still "
           "apply" + (f", and the workbook's own total budget, {fmt.money(s.total_budget_musd)}, "
                      "is replaced by each cap." if s.total_budget_musd is not None else
                      " (the workbook sets no total budget).")]
    feasible = [r for r in rows if number(r.get("objective_value")) is not None]
    infeasible = [fmt.money(number(r.get("total_budget_musd"))) for r in rows
                  if number(r.get("objective_value")) is None]
    if infeasible:
        out.append("No plan satisfies the constraints with a cap of "
                   f"{fmt.join_words(infeasible, last='or')}.")
    if not feasible:
        return out
    best = max(number(r["objective_value"]) for r in feasible)
    tol = 1e-6 * max(1.0, abs(best))
    top = next(r for r in feasible if number(r["objective_value"]) >= best - tol)
    low = feasible[0]
    low_text = fmt.objective_amount(number(low["objective_value"]), objective)
    top_text = fmt.objective_amount(number(top["objective_value"]), objective)
    cap = fmt.money(number(top.get("total_budget_musd")))
    if top is low:
        out.append(f"From {fmt.money(number(low.get('total_budget_musd')))} on the objective is "
                   f"{low_text}: a larger cap changes nothing.")
        return out
    out.append(f"The objective rises from {low_text} at "
               f"{fmt.money(number(low.get('total_budget_musd')))} to {top_text} at {cap}.")
    if top is feasible[-1]:
        out.append("It is still rising at the largest cap tried.")
    else:
        out.append(f"Beyond {cap} more budget changes nothing: the plan then spends "
                   f"{fmt.money(number(top.get('total_capex_musd')))}.")
    return out


# ---------------------------------------------------------------------------------------------
# 9. Robust budgets


def robust_budgets(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """The price of robustness in plain words, and the two plans side by side."""
    result = ctx.result
    s = result.instance.settings
    rows = rows_of(found.get("robust"))
    if not rows:
        return (Paragraph("The price of robustness was not computed (robust_gamma is 0)."),)
    unit = fmt.objective_unit(s.objective)
    blocks: list[Block] = [Paragraph(robust_sentence(result, rows))]
    blocks.append(Paragraph(
        "How the budgets are protected (budgeted uncertainty, after Bertsimas and Sim): in every "
        "year's budget row the plan must still fit when the gamma funded projects whose overruns "
        f"weigh most in that row cost their high capex estimate instead of the {s.capex_basis} "
        "basis. Gamma is robust_gamma in the Settings sheet; prices, NPVs and demand are not "
        "varied.", style="note"))
    table_rows = []
    for r in rows:
        table_rows.append((
            fmt.cell_text("robust_gamma", r.get("robust_gamma")), str(r.get("status", "")),
            fmt.objective_cell(number(r.get("objective_value")), s.objective),
            fmt.amount(number(r.get("npv_musd"))), fmt.amount(number(r.get("total_capex_musd"))),
            fmt.cell_text("funded_count", r.get("funded_count")),
            fmt.objective_cell(number(r.get("price_of_robustness")), s.objective)))
    blocks.append(Table(
        header=("Gamma", "Status", f"Objective ({unit})", "NPV $M", "Capex $M", "Funded",
                f"Price of robustness ({unit})"),
        rows=tuple(table_rows), align=("right", "left") + ("right",) * 5,
        caption="The best plan without protection (gamma 0) and with it (the workbook's gamma)",
        emphasis=frozenset(i for i, r in enumerate(rows)
                           if r.get("robust_gamma") == s.robust_gamma)))
    return tuple(blocks)


def robust_sentence(result: Result, rows: Sequence[Mapping[str, Any]]) -> str:
    """"Protecting every year's budget against any 2 projects running to their high capital cost
    costs $12.5M of objective (3.1%): the objective is $400.0M at gamma 0 against $387.5M at
    gamma 2." """
    objective = result.instance.settings.objective
    nominal = next((r for r in rows if r.get("robust_gamma") == 0), rows[0])
    robust = next((r for r in rows if r is not nominal), nominal)
    gamma = robust.get("robust_gamma")
    a, b = number(nominal.get("objective_value")), number(robust.get("objective_value"))
    who = (f"any {gamma} project running to its high capital cost" if gamma == 1 else
           f"any {gamma} projects running to their high capital cost")
    if a is None or b is None:
        return (f"The price of protecting every year's budget against {who} could not be "
                "measured: no plan satisfies the constraints at "
                f"gamma {nominal.get('robust_gamma') if a is None else gamma}.")
    price = number(robust.get("price_of_robustness"))
    price = a - b if price is None else price
    pct = fmt.share(price / abs(a)) if a else fmt.MISSING
    return (f"Protecting every year's budget against {who} costs "
            f"{fmt.objective_amount(price, objective)} of objective ({pct}): the objective is "
            f"{fmt.objective_amount(a, objective)} at gamma 0 against "
            f"{fmt.objective_amount(b, objective)} at gamma {gamma}.")


# ---------------------------------------------------------------------------------------------
# 10. Risk: Monte Carlo simulation

SIMULATION_KEYS = ("simulation_summary", "simulation_budget", "simulation_targets",
                   "simulation_online", "simulation_risks", "simulation_settings")


def simulation(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """Draws and assumptions, P10/P50/P90, the chance of breaking a budget or missing a target,
    the histogram, then the tables."""
    result = ctx.result
    settings = {str(r.get("setting")): r.get("value")
                for r in rows_of(found.get("simulation_settings"))}
    summary = rows_of(found.get("simulation_summary"))
    budget = rows_of(found.get("simulation_budget"))
    targets = rows_of(found.get("simulation_targets"))
    online = rows_of(found.get("simulation_online"))
    risks = rows_of(found.get("simulation_risks"))
    sentences = [simulation_assumptions(settings)] if settings else []
    sentences += [summary_sentence(r) for r in summary]
    if risks:
        sentences.append("Probabilities over the draws: " + "; ".join(
            f"{str(r.get('event', 'event'))}, {fmt.share(number(r.get('probability')))}"
            for r in risks) + ".")
    if targets:
        sentences.append("Probability that each China-share target is met: " + "; ".join(
            target_phrase(r, result.instance.settings.last_year) for r in targets) + ".")
    blocks: list[Block] = [Paragraph(" ".join(sentences))] if sentences else []
    blocks += figure(ctx, "simulation_histogram", "Distribution of NPV and total capital cost "
                     "over the draws: P10 and P90 dotted, P50 dashed, planned value red",
                     "Histograms of simulated NPV and total capital cost")
    if summary:
        blocks.append(Table(
            header=("Measure", "P10 $M", "P50 $M", "P90 $M", "Mean $M", "Planned $M"),
            rows=tuple((measure_name(r.get("measure")),
                        *(fmt.amount(number(r.get(k))) for k in ("p10", "p50", "p90", "mean",
                                                                  "planned")))
                       for r in summary),
            align=("left",) + ("right",) * 5,
            caption="P10, P50 and P90: 10%, 50% and 90% of the draws are at or below the value"))
    spending = [r for r in budget if (number(r.get("planned_spend_musd")) or 0.0) > TOL]
    if spending:
        cumulative = any(r.get("test") == "cumulative" for r in spending)
        blocks.append(Table(
            header=("Year", "Budget $M", "Planned spend $M", "Mean spend $M",
                    "P(budget exceeded)"),
            rows=tuple((fmt.cell_text("year", r.get("year")),
                        fmt.amount(number(r.get("budget_musd"))),
                        fmt.amount(number(r.get("planned_spend_musd"))),
                        fmt.amount(number(r.get("mean_spend_musd"))),
                        fmt.share(number(r.get("p_exceeded")))) for r in spending),
            align=("left",) + ("right",) * 4,
            caption="Chance that the budget is exceeded, years with planned spend"
                    + (" (with carry-over: cumulative spend against cumulative budget)"
                       if cumulative else "") + "; years with any chance are highlighted",
            emphasis=frozenset(i for i, r in enumerate(spending)
                               if (number(r.get("p_exceeded")) or 0.0) > 0)))
    if targets:
        blocks.append(Table(
            header=("Mineral", "Target China share", "Target year", "Planned share",
                    "P(met in target year)", "P(met every year from then)"),
            rows=tuple((str(r.get("mineral", "")), fmt.share(number(r.get("target_china_share"))),
                        fmt.cell_text("year", r.get("target_year")),
                        fmt.share(number(r.get("planned_china_share"))),
                        fmt.share(number(r.get("p_met"))),
                        fmt.share(number(r.get("p_met_all_years")))) for r in targets),
            align=("left",) + ("right",) * 5,
            caption="Chance of meeting each China-share target"))
    if online:
        blocks.append(Table(
            header=("Project", "Planned online", "P(on time)", "P10 online", "P50 online",
                    "P90 online"),
            rows=tuple((id_labels(result, [r.get("project_id", "")])[0]
                        if r.get("project_id") else fmt.MISSING,
                        *(fmt.cell_text("year", r.get(k)) for k in ("planned_online",)),
                        fmt.share(number(r.get("p_on_time"))),
                        *(fmt.cell_text("year", r.get(k)) for k in ("p10", "p50", "p90")))
                       for r in online),
            align=("left",) + ("right",) * 5,
            caption="Online year of each funded project: the chance of the planned year, and the "
                    "year by which 10%, 50% and 90% of the draws are online"))
    return tuple(blocks)


def simulation_assumptions(settings: Mapping[str, Any]) -> str:
    """Draws, seed, the capex distribution and the delay model, from simulation_settings."""
    draws, seed = settings.get("draws"), settings.get("seed")
    basis = settings.get("capex_basis (triangular mode)", settings.get("capex_basis"))
    p = number(settings.get("delay_probability"))
    kmax = settings.get("max_delay_years")
    head = (f"The plan was simulated over {fmt.cell_text('draws', draws)} draws"
            + (f" (seed {seed})" if seed is not None else "") + ": ")
    capex = ("each funded project's capital cost is drawn from a triangular distribution between "
             "its low and high estimates" + (f", most likely at the {basis} basis" if basis
                                              else ""))
    if p is None or not fmt.is_number(kmax):
        delay = ""
    elif p <= 0 or kmax <= 0:
        delay = "; no project is delayed"
    else:
        span = "1 year" if kmax == 1 else f"1 to {kmax} years, each equally likely"
        delay = (f"; with probability {fmt.share(p)} a project comes online late by {span}")
    return (head + capex + delay + ". Start years and spending schedules stay as planned, so a "
            "delay moves deliveries and NPV, not spending.")


def summary_sentence(row: Mapping[str, Any]) -> str:
    """"NPV: P10 $66.7M, P50 $79.1M, P90 $92.0M (planned $82.6M)." """
    quantiles = ", ".join(f"{k.upper()} {fmt.money(number(row.get(k)))}"
                          for k in ("p10", "p50", "p90"))
    planned = number(row.get("planned"))
    tail = f" (planned {fmt.money(planned)})" if planned is not None else ""
    return f"{measure_name(row.get('measure'))}: {quantiles}{tail}."


def measure_name(measure: Any) -> str:
    """"total capex $M" -> "Total capex", "NPV $M" -> "NPV"."""
    text = str(measure or "").removesuffix(" $M").strip()
    return fmt.sentence_case(text) if text else fmt.MISSING


def target_phrase(row: Mapping[str, Any], last_year: int) -> str:
    year = row.get("target_year")
    return (f"{row.get('mineral')} (China share at most "
            f"{fmt.share(number(row.get('target_china_share')))} in {year}) "
            f"{fmt.share(number(row.get('p_met')))} in {year}, "
            f"{fmt.share(number(row.get('p_met_all_years')))} in every year from {year} to "
            f"{last_year}")


# ---------------------------------------------------------------------------------------------
# 11. Scenarios


def scenarios(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """The scenarios side by side, then the robust choices (funded in every scenario with a plan)
    and the projects funded only in some."""
    result = ctx.result
    s = result.instance.settings
    unit = fmt.objective_unit(s.objective)
    rows = rows_of(found.get("scenarios"))
    projects = rows_of(found.get("scenario_projects"))
    if not rows and not projects:
        return ()
    defined = {sc.scenario: sc for sc in result.instance.scenarios}
    blocks: list[Block] = [Paragraph(
        "The plan re-solved under each scenario of the workbook's Scenarios sheet: a scenario "
        "multiplies every project's capex and NPV and every mineral's US demand, and adds years "
        "to every build, as the sheet says; \"base\" is the workbook as given, the recommended "
        "plan.")]
    if rows:
        table_rows, notes = [], []
        for r in rows:
            name = str(r.get("scenario", ""))
            sc = defined.get(name)
            table_rows.append((
                name,
                *((f"{sc.capex_multiplier:g}", f"{sc.delay_years:+d}" if sc.delay_years else "0",
                   f"{sc.demand_multiplier:g}", f"{sc.npv_multiplier:g}") if sc is not None
                  else (("1", "0", "1", "1") if name == "base" else (fmt.MISSING,) * 4)),
                str(r.get("status", "")),
                fmt.objective_cell(number(r.get("objective_value")), s.objective),
                fmt.amount(number(r.get("npv_musd"))),
                fmt.amount(number(r.get("total_capex_musd"))),
                fmt.cell_text("funded_count", r.get("funded_count"))))
            if r.get("note"):
                notes.append(f"{name}: {fmt.cell_text('note', r.get('note'))}")
        blocks.append(Table(
            header=("Scenario", "Capex \u00d7", "Delay (years)", "Demand \u00d7", "NPV \u00d7",
                    "Status", f"Objective ({unit})", "NPV $M", "Capex $M", "Funded"),
            rows=tuple(table_rows), align=("left",) + ("right",) * 4 + ("left",) + ("right",) * 4,
            caption="The best plan under each scenario",
            emphasis=frozenset(i for i, r in enumerate(rows) if r.get("scenario") == "base")))
        if notes:
            blocks.append(Paragraph("Notes: " + "; ".join(notes) + ".", style="note"))
    solved = [str(r.get("scenario")) for r in rows if number(r.get("objective_value")) is not None]
    failed = [str(r.get("scenario")) for r in rows if number(r.get("objective_value")) is None]
    every = [p for p in projects if p.get("funded_in") == "every scenario"]
    some = [p for p in projects if p.get("funded_in") != "every scenario"]
    scope = (f"all {len(solved)} scenarios with a feasible plan" if solved
             else "every scenario with a feasible plan")
    if every:
        blocks.append(Paragraph(
            f"Robust choices, funded in {scope}: "
            f"{fmt.join_words(first_labels(result, every))}."))
    elif projects:
        blocks.append(Paragraph(f"No project is funded in {scope}."))
    if some:
        blocks.append(Paragraph("Funded in some scenarios only (the scenarios that fund it):"))
        items = [f"{scenario_label(result, p)}: {p.get('scenarios', '')}"
                 for p in some[:charts.FULL_LIST_MAX]]
        if len(some) > charts.FULL_LIST_MAX:
            items[charts.TOP_PROJECTS:] = [
                f"{len(some) - charts.TOP_PROJECTS:,} more: the full list is in results.xlsx, "
                f"sheet {SCENARIO_SHEET}"]
        blocks.append(Bullets(tuple(items)))
    elif every:
        blocks.append(Paragraph("No project is funded in some scenarios only: the scenarios "
                                "agree on which projects to fund."))
    if failed:
        blocks.append(Paragraph(
            f"No plan satisfies the constraints under {fmt.join_words(failed)}; "
            f"{'that scenario counts' if len(failed) == 1 else 'those scenarios count'} in "
            "neither list.", style="note"))
    return tuple(blocks)


SCENARIO_SHEET = sheet_title("scenario_projects", ())  # its sheet in results.xlsx


def first_labels(result: Result, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The labels of scenario-project ``rows``: all, or beyond ``charts.FULL_LIST_MAX`` the
    first ``charts.TOP_PROJECTS`` and "N more (results.xlsx, sheet Scenario projects)"."""
    if len(rows) <= charts.FULL_LIST_MAX:
        return [scenario_label(result, r) for r in rows]
    named = [scenario_label(result, r) for r in rows[:charts.TOP_PROJECTS]]
    return [*named, f"{len(rows) - len(named):,} more (results.xlsx, sheet {SCENARIO_SHEET})"]


def scenario_label(result: Result, row: Mapping[str, Any]) -> str:
    pid = str(row.get("project_id", ""))
    if pid in result.instance.projects:
        return label(result, pid)
    return fmt.project_label(str(row.get("name", "")), pid)


# ---------------------------------------------------------------------------------------------
# 12. Near-optimal alternatives


def alternatives(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """One line per alternative on what it gains and gives up, and the table with the best plan
    on top."""
    result = ctx.result
    s, ev = result.instance.settings, result.evaluation
    rows = rows_of(found.get("alternatives"))
    unit = fmt.objective_unit(s.objective)
    within = fmt.share(s.alternatives_within)
    blocks: list[Block] = [Paragraph(
        f"Other portfolios whose objective is within {within} of the best plan's "
        "(alternatives_within in Settings), best first. Each funds a different set of projects "
        "from the best plan and from every alternative before it; a change of start years alone "
        "does not count.")]
    if not rows:
        blocks.append(Paragraph(f"No other portfolio comes within {within} of the best plan."))
        return tuple(blocks)
    blocks.append(Bullets(tuple(alternative_line(result, r) for r in rows)))
    best = ("Best", fmt.objective_cell(result.objective_value, s.objective), fmt.MISSING,
            fmt.amount(ev.npv_musd), fmt.MISSING, fmt.share_years(ev.security), fmt.MISSING,
            fmt.amount(ev.total_capex), fmt.MISSING, fmt.MISSING, fmt.MISSING)
    table_rows = [best]
    for r in rows:
        table_rows.append((
            f"Alt.\u00a0{r.get('alternative', '')}",
            fmt.objective_cell(number(r.get("objective_value")), s.objective),
            fmt.share(number(r.get("objective_below_optimum_pct"))),
            fmt.amount(number(r.get("npv_musd"))),
            fmt.signed_amount(number(r.get("npv_change_musd"))),
            fmt.share_years(number(r.get("security_share_years"))),
            fmt.signed_share_years(number(r.get("security_change"))),
            fmt.amount(number(r.get("total_capex_musd"))),
            fmt.signed_amount(number(r.get("capex_change_musd"))),
            ids_cell(r.get("adds"), "none"), ids_cell(r.get("drops"), "none")))
    blocks.append(Table(
        header=("Plan", f"Objective ({unit})", "Below best", "NPV $M", "NPV change $M",
                "Reliance removed", "Reliance change", "Capex $M", "Capex change $M", "Adds",
                "Drops"),
        rows=tuple(table_rows), align=("left",) + ("right",) * 8 + ("left", "left"),
        caption="The best plan and the near-optimal alternatives (Alt. 1, 2, ...); changes "
                "against the best plan; China reliance removed in share-years",
        emphasis=frozenset({0})))
    return tuple(blocks)


def alternative_line(result: Result, row: Mapping[str, Any]) -> str:
    """"Alternative 1 scores 2.1% below the best plan: it adds X and drops Y; NPV +$12.0M, China
    reliance removed -0.050 share-years, capital -$150.0M." """
    adds = id_labels(result, row.get("adds"))
    drops = id_labels(result, row.get("drops"))
    change = []
    if adds:
        change.append(f"adds {fmt.join_words(adds)}")
    if drops:
        change.append(f"drops {fmt.join_words(drops)}")
    what = " and ".join(change) if change else "funds the same projects"
    below = number(row.get("objective_below_optimum_pct"))
    score = (f"scores {fmt.share(below)} below the best plan" if below is not None
             else "scores close to the best plan")
    capex = number(row.get("capex_change_musd"))
    capital = ("capital unchanged" if capex is not None and fmt.amount(capex) == "0.0"
               else f"capital {fmt.signed_money(capex)}")
    return (f"Alternative {row.get('alternative', '')} {score}: it {what}; "
            f"NPV {fmt.signed_money(number(row.get('npv_change_musd')))}, China reliance removed "
            f"{fmt.signed_share_years(number(row.get('security_change')))} share-years, "
            f"{capital}.")


OPTIONAL_SECTIONS: list[OptionalSection] = [
    OptionalSection("frontier", "Trade-offs: NPV against China reliance",
                    "Plans that trade NPV against China reliance removed, and the best plan "
                    "under each total budget.", build=tradeoffs, chart=charts.frontier_figure,
                    also=("budget_ladder",), section="tradeoffs"),
    OptionalSection("robust", "Robust budgets",
                    "The price of robustness: the best plan when every year's budget must hold "
                    "even if robust_gamma projects run to their high capital cost (budgeted "
                    "uncertainty on capex), against the plan without that protection.",
                    build=robust_budgets),
    OptionalSection("simulation_histogram", "Risk: Monte Carlo simulation",
                    "The chosen plan under random capex overruns and build delays, summarised "
                    "over the draws.", build=simulation, chart=charts.simulation_figure,
                    also=SIMULATION_KEYS, section="simulation"),
    OptionalSection("scenarios", "Scenarios", "The plan re-solved under each scenario of the "
                    "workbook's Scenarios sheet.", build=scenarios, also=("scenario_projects",)),
    OptionalSection("alternatives", "Near-optimal alternatives",
                    "Other plans whose objective is close to the best, one row per plan.",
                    build=alternatives),
]


# ---------------------------------------------------------------------------------------------
# Last: Assumptions and provenance


def provenance(ctx: MemoContext) -> Section:
    """Run facts (input file and digest, tool and solver, date), every setting, the workbook's
    Sources sheet and the reader's warnings."""
    result = ctx.result
    inst, info, s = result.instance, result.info, result.instance.settings
    run = [
        ("Input file", Path(inst.source_path).name if inst.source_path else "not recorded"),
        ("Input SHA-256", inst.input_sha256 or "not recorded"),
        ("Tool version", f"optimizer {__version__}"),
        ("Solver", info.solver),
        ("Solver status", info.status_words),
        ("Optimality gap", "not reported" if info.mip_gap is None else
         f"{100 * info.mip_gap:.3f}%"),
        ("Solve time", f"{info.solve_seconds:.2f} s"),
        ("Objective", f"{s.objective}: {OBJECTIVE_WORDS.get(s.objective, '')}"),
        ("Objective value", fmt.objective_amount(result.objective_value, s.objective)),
        ("Security (reliance removed)", f"{result.evaluation.security:,.3f} share-years, "
                                        "discounted"),
        ("Run date (UTC)", f"{ctx.run_time.astimezone(timezone.utc):%Y-%m-%d %H:%M}"),
    ]
    blocks: list[Block] = [
        Table(("Item", "Value"), tuple(run), ("left", "left"), caption="This run"),
        Table(("Setting", "Value"), tuple((name, setting_text(name, getattr(s, name)))
                                          for name in s.__dataclass_fields__),
              ("left", "left"), caption="Settings used (the workbook's Settings sheet, defaults "
                                        "filled in)"),
    ]
    if inst.sources:
        blocks.append(Paragraph("Sources (the workbook's Sources sheet), one line per row:"))
        blocks.append(Bullets(tuple(source_line(inst.sources_header, r.cells)
                                    for r in inst.sources)))
    else:
        blocks.append(Paragraph("The workbook has no Sources sheet: the origin of its figures is "
                                "not recorded in it.", style="note"))
    if inst.warnings:
        blocks.append(Paragraph("Warnings from reading the workbook:"))
        blocks.append(Bullets(tuple(str(w) for w in inst.warnings)))
    return Section("provenance", "Assumptions and provenance", tuple(blocks))


def source_line(header: Sequence[str], cells: Sequence[object]) -> str:
    """One Sources row as a line: its first cell, then "column: value" for every other filled
    cell. A list reads better than a wide table when rows carry long notes and file paths."""
    texts = [" ".join(str(c).split()) for c in cells]
    names = list(header) + [f"column {i + 1}" for i in range(len(header), len(texts))]
    lead = texts[0] if texts else ""
    rest = "; ".join(f"{n}: {t}" for n, t in zip(names[1:], texts[1:]) if t)
    return f"{lead} ({rest})" if lead and rest else lead or rest


def setting_text(name: str, value: Any) -> str:
    """A setting's value as text: rates as percent, money in $M, blanks as "not set"."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in ("discount_rate", "delay_probability", "alternatives_within"):
        return f"{fmt.share(value)} ({value:g})"
    if name == "mip_gap":
        return f"{100 * value:.3f}% ({value:g})"
    if name.endswith("_musd"):
        return fmt.money(value)
    if name == "time_limit_s":
        return f"{value:g} s"
    return str(value)


CORE_SECTIONS: list[Callable[[MemoContext], Section]] = [
    recommendation, portfolio, timeline, money, china_reliance, why_not, sensitivity,
]
