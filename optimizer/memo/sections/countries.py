"""Memo section on countries: where the plan's capital goes, how concentrated it is, the risk each
country carries, and what losing each country's projects would do (the stress test)."""

from __future__ import annotations

from typing import Any, Mapping

from .. import text as fmt
from ...results import Result
from ...analyses.stress import delivers
from ..context import MemoContext, rows_of
from ..model import Block, Paragraph, Table

# The US merger guidelines' bands of the Herfindahl-Hirschman index (2010 edition).
HHI_BANDS = ((1500, "unconcentrated"), (2500, "moderately concentrated"),
             (10_001, "highly concentrated"))


def hhi_words(value: float) -> str:
    return next(words for limit, words in HHI_BANDS if value < limit)


def countries(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """Capex and deliveries by country with the concentration index; then the stress test."""
    result = ctx.result
    blocks: list[Block] = list(concentration_blocks(result, ctx.report_year))
    rows = rows_of(found.get("stress_test"))
    if rows:
        blocks += stress_blocks(rows)
    return tuple(blocks)


def concentration_blocks(result: Result, year: int) -> list[Block]:
    inst = result.instance
    fin = result.finance
    if not result.starts:
        return [Paragraph("No project is funded, so no country carries any of the plan.")]
    by_country: dict[str, list[str]] = {}
    for pid in result.funded_ids:
        by_country.setdefault(inst.projects[pid].country, []).append(pid)
    body = []
    for country, pids in sorted(by_country.items(),
                                key=lambda kv: (-fin.country_capex_musd.get(kv[0], 0.0), kv[0])):
        c = inst.countries.get(country)
        tonnes = sum(inst.projects[p].capacity_tpa for p in pids if delivers(result, p, year))
        body.append((country, f"{len(pids):,}", fmt.amount(fin.country_capex_musd.get(country, 0.0)),
                     fmt.share(fin.country_capex_share.get(country, 0.0)),
                     fmt.share(c.loss_probability) if c is not None else fmt.share(0.0),
                     f"{tonnes:,.0f}"))
    table = Table(("Country", "Funded projects", "Capex $M", "Share of capex",
                   "Country loss probability a year", f"Deliveries in {year} (t)"),
                  tuple(body), ("left", "right", "right", "right", "right", "right"),
                  caption="The plan by country")
    top = max(fin.country_capex_share.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    text = (f"The plan funds projects in {fmt.plural(len(by_country), 'country', 'countries')}.")
    if top is not None:
        text += (f" {top[0]} takes the largest share of its capital, {fmt.share(top[1])}. The "
                 f"concentration of capital by country (Herfindahl-Hirschman index of the capex "
                 f"shares) is {fin.capex_hhi:,.0f} of 10,000: {hhi_words(fin.capex_hhi)}.")
    return [Paragraph(text), table]


def stress_blocks(rows: list[Mapping[str, Any]]) -> list[Block]:
    year = rows[0].get("year")
    broken = [r for r in rows if r.get("holds") is False]
    if any(r.get("target") is not None for r in rows):
        lead = (f"Stress test: the China share in {year} if every funded project of one country "
                "delivered nothing, the rest of the plan as planned (no re-solve).")
        if broken:
            lost = sorted({str(r["country"]) for r in broken})
            lead += (f" Losing {fmt.join_words(lost, 'or')} would break at least one target.")
        else:
            lead += " No single country's loss breaks a target."
    else:
        lead = (f"Stress test: the China share in {year} if every funded project of one country "
                "delivered nothing (no re-solve).")
    body = tuple((str(r["country"]), str(r["mineral"]), fmt.share(r.get("planned_china_share")),
                  fmt.share(r.get("china_share")),
                  fmt.share(r.get("target")) if r.get("target") is not None else fmt.MISSING,
                  {True: "yes", False: "no"}.get(r.get("holds"), fmt.MISSING))
                 for r in rows)
    table = Table(("Country lost", "Mineral", "China share as planned", "China share if lost",
                   "Target", "Target holds"), body,
                  ("left", "left", "right", "right", "right", "left"), caption="Stress test",
                  emphasis=frozenset(i for i, r in enumerate(rows) if r.get("holds") is False))
    return [Paragraph(lead), table]


