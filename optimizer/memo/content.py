"""What the decision memo says: one :class:`~optimizer.memo.model.Document` built from a Result.

Every figure comes from the Result (``result.evaluation``, ``result.info``, ``result.instance``,
``result.analyses``), formatted by :mod:`optimizer.memo.text`; nothing is typed into a template.
The sections, in order: Recommendation, The portfolio, Timeline, Money, China reliance, Why not
the others, Budget sensitivity, then the optional analyses present in ``result.analyses`` (see
:data:`OPTIONAL_SECTIONS`), and last Assumptions and provenance.

A later analysis adds a section with one :class:`OptionalSection` entry: by default its list of
dicts is shown as a titled table; ``build`` may supply its own blocks and ``chart`` a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from matplotlib.figure import Figure as MplFigure

from .. import __version__
from ..evaluate import TOL
from ..report_xlsx import OBJECTIVE_WORDS, spend_rows
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
    subtitle = (f"{inst.name}: {len(inst.projects)} candidate projects, {len(inst.minerals)} "
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
        named.append(f"{len(rest)} more starting through {max(result.starts[p] for p in rest)}")
    return (f"Fund {len(funded)} of the {total} candidate projects ({kinds}), starting with "
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
    """Table of the funded projects in start order, with a total row."""
    result = ctx.result
    inst, ev, s = result.instance, result.evaluation, result.instance.settings
    funded = result.funded_ids
    if not funded:
        return Section("portfolio", "The portfolio", (Paragraph("No project is funded."),))
    rows = []
    for pid in funded:
        p = inst.projects[pid]
        rows.append((label(result, pid), p.kind, p.country, p.mineral, str(result.starts[pid]),
                     str(ev.online[pid]), fmt.amount(ev.capex[pid]), fmt.amount(p.npv_musd),
                     f"{p.risk:.2f}"))
    footer = (f"Total: {fmt.plural(len(funded), 'project')}", "", "", "", "", "",
              fmt.amount(sum(ev.capex[p] for p in funded)),
              fmt.amount(sum(inst.projects[p].npv_musd for p in funded)), "")
    table = Table(
        header=("Project", "Kind", "Country", "Mineral", "Start", "Online", "Capex $M", "NPV $M",
                "Risk"),
        rows=tuple(rows), align=("left",) * 4 + ("right",) * 5,
        caption="Funded projects, in order of start year", footer=footer,
    )
    note = Paragraph(
        f"Start: the year capital is first spent. Online: the first year of deliveries. Capex at "
        f"the {s.capex_basis} capex basis. NPV is each project's own NPV as given, valued at its "
        f"start year; discounted to {s.first_year} the funded projects' NPVs sum to "
        f"{fmt.money(ev.npv_musd)}, the portfolio NPV. Risk is the workbook's score from 0 to 1.",
        style="note")
    return Section("portfolio", "The portfolio", (table, note))


# ---------------------------------------------------------------------------------------------
# 3. Timeline


def timeline(ctx: MemoContext) -> Section:
    result = ctx.result
    s = result.instance.settings
    if not result.funded_ids:
        return Section("timeline", "Timeline", (Paragraph("No project is funded, so there is no "
                                                          "timeline."),))
    late = [label(result, p) for p in result.funded_ids
            if result.evaluation.online[p] > s.last_year]
    blocks: list[Block] = [Paragraph(
        f"One row per funded project, from {s.first_year} to the end of {s.last_year}: light bars "
        f"are build years (capital is spent, nothing is delivered), dark bars are operating years "
        f"(deliveries count toward US supply). Bars stop at the horizon end.")]
    if late:
        blocks.append(Paragraph(
            f"Online only after {s.last_year}, so delivering nothing within the horizon: "
            f"{fmt.join_words(late)}.", style="note"))
    blocks += figure(ctx, "timeline", "Build years (light) and operating years (dark) of each "
                     "funded project", "Gantt chart of the funded projects")
    return Section("timeline", "Timeline", tuple(blocks))


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
    blocks += figure(ctx, "china_share", "China's share of US demand without the plan (dashed) "
                     "and with it (solid), per mineral", "Line charts of China share per mineral")
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
            f"{len(rejected)} of the {len(inst.projects)} candidate projects "
            f"{'is' if len(rejected) == 1 else 'are'} left out. For each, the reason comes from "
            "re-solving the plan with that project forced in."))
    note = analyses.get("why_not_note")
    if note:
        blocks.append(Paragraph(str(note), style="note"))
    has_loss = any(isinstance(reasons.get(p), Mapping) and reasons[p].get("objective_loss")
                   is not None for p in rejected)
    unit = fmt.objective_unit(s.objective)
    rows = []
    for pid in rejected:
        p = inst.projects[pid]
        entry = reasons.get(pid)
        reason = reason_text(entry)
        row = [label(result, pid), p.kind, p.mineral, fmt.amount(p.capex(s.capex_basis)),
               fmt.amount(p.npv_musd), reason]
        if has_loss:
            loss = entry.get("objective_loss") if isinstance(entry, Mapping) else None
            row.insert(5, fmt.objective_cell(loss, s.objective))
        rows.append(tuple(row))
    header = ["Project", "Kind", "Mineral", "Capex $M", "NPV $M", "Reason"]
    align = ["left", "left", "left", "right", "right", "left"]
    if has_loss:
        header.insert(5, f"Objective lost if forced in ({unit})")
        align.insert(5, "right")
    blocks.append(Table(tuple(header), tuple(rows), tuple(align),  # type: ignore[arg-type]
                        caption="Projects left out, in workbook order"))
    return Section("why_not", "Why not the others", tuple(blocks))


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
# Optional analyses


@dataclass(frozen=True)
class OptionalSection:
    """A section shown only when ``result.analyses[key]`` is present.

    ``build`` returns the section's blocks (default: ``intro`` and a generic table of the list of
    dicts); ``chart`` draws a figure for it (written as ``chart_<key>.png``)."""

    key: str
    title: str
    intro: str
    build: Callable[[MemoContext, Any], tuple[Block, ...]] | None = None
    chart: Callable[[Result], MplFigure] | None = None


OPTIONAL_SECTIONS: list[OptionalSection] = [
    OptionalSection("frontier", "Efficient frontier",
                    "Plans that trade NPV against China reliance removed, one row per plan."),
    OptionalSection("robust", "Robust plans", "The plan when prices and capital costs move "
                    "against it, one row per case."),
    OptionalSection("simulation", "Monte Carlo simulation",
                    "The plan under random project delays, summarised over the simulated runs."),
    OptionalSection("scenarios", "Scenarios", "The plan re-solved under each scenario of the "
                    "workbook's Scenarios sheet."),
    OptionalSection("alternatives", "Alternative plans",
                    "Other plans whose objective is close to the best, one row per plan."),
]
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
    known = {o.key for o in OPTIONAL_SECTIONS}
    for option in OPTIONAL_SECTIONS:
        value = analyses.get(option.key)
        if value is None:
            continue
        if option.build is not None:
            blocks = option.build(ctx, value)
        elif is_table(value):
            blocks = (Paragraph(option.intro), *figure(ctx, option.key, option.title, option.title),
                      generic_table(value, option.title))
        else:
            continue
        sections.append(Section(option.key, option.title, tuple(blocks)))
    for key, value in analyses.items():
        if key in known or key in HANDLED_KEYS or not is_table(value):
            continue
        title = fmt.sentence_case(str(key).replace("_", " "))
        sections.append(Section(str(key), title, (generic_table(value, title),)))
    return sections


# ---------------------------------------------------------------------------------------------
# 8. Assumptions and provenance


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
        width = max(len(inst.sources_header), *(len(r.cells) for r in inst.sources))
        header = tuple(inst.sources_header) + tuple(
            f"Column {i + 1}" for i in range(len(inst.sources_header), width))
        rows = tuple(tuple(" ".join(str(c).split()) for c in r.cells)
                     + ("",) * (width - len(r.cells)) for r in inst.sources)
        blocks.append(Table(header, rows, ("left",) * width,
                            caption="Sources (the workbook's Sources sheet)"))
    else:
        blocks.append(Paragraph("The workbook has no Sources sheet: the origin of its figures is "
                                "not recorded in it.", style="note"))
    if inst.warnings:
        blocks.append(Paragraph("Warnings from reading the workbook:"))
        blocks.append(Bullets(tuple(str(w) for w in inst.warnings)))
    return Section("provenance", "Assumptions and provenance", tuple(blocks))


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
