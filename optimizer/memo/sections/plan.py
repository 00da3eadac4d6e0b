"""Memo sections 1-5: Recommendation, The portfolio, Timeline, Money, China reliance."""

from __future__ import annotations

from typing import Sequence

from .. import text as fmt
from ... import charts
from ...evaluate import TOL
from ...results import Result
from ...tables import PORTFOLIO, spend_rows
from ..context import figure, FIRST_NAMED, label, MemoContext, others, rows_of, shortened_list
from ..model import Block, Paragraph, Section, Table

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
    blocks: list[Block] = [Paragraph(" ".join(sentences), style="lead")]
    glance = at_a_glance(ctx)
    if glance:
        blocks.append(Paragraph(glance))
    return Section("recommendation", "Recommendation", tuple(blocks))


def at_a_glance(ctx: MemoContext) -> str:
    """Money and fragility in a few sentences: the peak funding need, the portfolio IRR against
    the discount rate, and what losing the most exposed country would do."""
    result = ctx.result
    if not result.starts:
        return ""
    s = result.instance.settings
    fin = result.finance
    ev = result.evaluation
    parts = [f"The plan's security value: {fmt.share_years(ev.security)} share-years of China reliance "
             f"removed (discounted)"
             + (f", worth {fmt.money(ev.premium_musd)} at the workbook's security premiums."
                if ev.premium_musd > TOL else ".")]
    if fin.peak_funding_musd > TOL:
        parts.append(f"The plan's cash flows need at most {fmt.money(fin.peak_funding_musd)} of "
                     f"funding at once (cumulative low point in {fin.peak_funding_year}).")
    if fin.irr.value is not None:
        verdict = "above" if fin.irr.value > s.discount_rate else "below"
        parts.append(f"Its IRR is {fmt.share(fin.irr.value)}, {verdict} the "
                     f"{fmt.share(s.discount_rate)} discount rate.")
    else:
        parts.append(f"The portfolio has {fin.irr.reason}.")
    chance = target_chances(result)
    if chance:
        parts.append(chance)
    worst = result.analyses.stress.worst() if result.analyses.stress is not None else None
    if worst is not None:
        parts.append(stress_sentence(worst))
    fragile = what_breaks_it(result)
    if fragile:
        parts.append(fragile)
    if fin.country_capex_share:
        top, share = max(fin.country_capex_share.items(), key=lambda kv: (kv[1], kv[0]))
        parts.append(f"{top} holds {fmt.share(share)} of the plan's capital; the concentration "
                     f"index (HHI of capex by country) is {fin.capex_hhi:,.0f} of 10,000.")
    return " ".join(parts)


def what_breaks_it(result: Result) -> str:
    """The scenarios and budget cuts under which no plan keeps every rule."""
    tables = result.analyses.tables()
    broken = [str(r.get("scenario")) for r in rows_of(tables.get("scenarios"))
              if r.get("status") in ("infeasible", "no_plan")]
    cuts = [r for r in rows_of(tables.get("sensitivity"))
            if (r.get("budget_change") or 0) < 0 and r.get("status") in ("infeasible", "no_plan")]
    parts = []
    if broken:
        named = fmt.join_words([f"'{b}'" for b in broken])
        parts.append(f"the scenario{'s' if len(broken) > 1 else ''} {named}")
    if cuts:
        least = max(r["budget_change"] for r in cuts)  # the smallest cut that breaks it
        parts.append(f"a budget cut of {fmt.share(-least)}")
    if not parts:
        return ""
    return f"No plan keeps every rule under {fmt.join_words(parts)}."


def target_chances(result: Result) -> str:
    """How likely the plan is to meet each target under the modelled risks (the simulation)."""
    sim = result.analyses.simulation
    if sim is None:
        return ""
    targets = sim.by_key.get("simulation_targets") or []
    if not targets:
        return ""
    year = targets[0].get("target_year")
    each = "; ".join(f"{r.get('mineral')} {fmt.share(r.get('p_met'))}" for r in targets)
    joint = next((r.get("probability") for r in sim.by_key.get("simulation_risks") or []
                  if "every China-share target" in str(r.get("event"))), None)
    text = (f"Under the modelled risks (delays, capex overruns and losses) it meets each "
            f"China-share target in {year} with probability {each}")
    if joint is not None and len(targets) > 1:
        text += f", and all of them together in {fmt.share(joint)} of the simulated futures"
    return text + "."


def stress_sentence(worst) -> str:
    """What losing the most exposed country would do to the China shares."""
    country, rows = worst["country"], worst["rows"]
    broken = [r for r in rows if r["holds"] is False]
    year = rows[0]["year"] if rows else None
    if broken:
        what = "; ".join(f"{r['mineral']} {fmt.share(r['china_share'])} against a target of "
                         f"{fmt.share(r['target'])}" for r in broken)
        return (f"Losing every project in {country}, the most exposed country, would break "
                f"{fmt.plural(len(broken), 'target')} in {year}: {what}.")
    rises = [r for r in rows if r["china_share"] > r["planned_china_share"] + 1e-9]
    if not rises:
        return f"Losing every project in {country} would leave every China share in {year} as it is."
    top = max(rises, key=lambda r: r["china_share"] - r["planned_china_share"])
    return (f"Losing every project in {country}, the most exposed country, would raise China's "
            f"share of {top['mineral']} in {year} from {fmt.share(top['planned_china_share'])} "
            f"to {fmt.share(top['china_share'])}"
            + (", and every target would still hold." if any(r["target"] is not None
                                                              for r in rows) else "."))


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
                     str(ev.online[pid]), fmt.amount(ev.capex[pid]),
                     fmt.amount(ev.npv_discounted[pid]), fmt.amount(p.npv_musd),
                     fmt.share(p.risk)))
    rest = others(funded, shown)
    if rest:
        rows.append((f"Other {fmt.plural(len(rest), 'funded project')}", "", "", "",
                     fmt.year_span(result.starts[p] for p in rest),
                     fmt.year_span(ev.online[p] for p in rest),
                     fmt.amount(sum(ev.capex[p] for p in rest)),
                     fmt.amount(sum(ev.npv_discounted[p] for p in rest)),
                     fmt.amount(sum(inst.projects[p].npv_musd for p in rest)), ""))
    footer = (f"Total: {fmt.plural(len(funded), 'project')}", "", "", "", "", "",
              fmt.amount(sum(ev.capex[p] for p in funded)), fmt.amount(ev.npv_musd), "", "")
    caption = ("Funded projects, in order of start year" if not rest else
               f"The {len(shown)} largest funded projects by capex, in order of start year, and "
               f"the other {len(rest):,} in one row")
    table = Table(
        header=("Project", "Kind", "Country", "Mineral", "Start", "Online", "Capex $M",
                f"NPV $M ({s.first_year})", "NPV $M (at start)", "Risk"),
        rows=tuple(rows), align=("left",) * 4 + ("right",) * 6,
        caption=caption, footer=footer,
    )
    note = Paragraph(
        f"Start: the year capital is first spent. Online: the first year of deliveries. Capex at "
        f"the {s.capex_basis} capex basis. NPV ({s.first_year}): each project's NPV discounted "
        f"to {s.first_year}, which sum to the portfolio NPV of {fmt.money(ev.npv_musd)}"
        + (" (expected figures: the workbook asks for a risk-adjusted plan)"
           if s.risk_adjusted else "")
        + "; NPV at start: the project's own NPV valued at its start year, as given. Risk is "
        "the workbook's score.",
        style="note")
    blocks: list[Block] = [table, note]
    if rest:
        blocks.insert(0, Paragraph(shortened_list(len(shown), len(funded), "funded projects",
                                                  PORTFOLIO)))
    return Section("portfolio", "The portfolio", tuple(blocks))


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
