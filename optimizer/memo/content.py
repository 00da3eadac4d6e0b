"""What the decision memo says: one :class:`~optimizer.memo.model.Document` built from a Result.

Every figure comes from the Result (``result.evaluation``, ``result.info``, ``result.instance``,
``result.analyses``), formatted by :mod:`optimizer.memo.text`; nothing is typed into a template.
The sections, in order: Recommendation, The portfolio, Timeline, Money, China reliance, Why not
the others, Budget sensitivity, then the optional analyses present in ``result.analyses`` (see
:data:`OPTIONAL_SECTIONS`: the committee's proposal, Funding priority, Countries, Trade-offs
(frontier and budget ladder), Robust budgets, Risk (Monte Carlo), Futures, Scenarios,
Near-optimal alternatives), any
other list-of-dict analysis as a generic table, and last Assumptions and provenance.

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
from typing import Any, Callable, Mapping

from matplotlib.figure import Figure as MplFigure

from . import text as fmt
from .. import charts
from ..results import Result
from ..tables import OBJECTIVE_WORDS
from .context import figure, generic_table, is_table, MemoContext
from .model import Block, Document, Paragraph, sanitize, Section
from .sections.countries import countries
from .sections.futures import FUTURES_KEYS, futures
from .sections.priority import PRIORITY_KEYS, priority
from .sections.proposal import proposal
from .sections.plan import china_reliance, money, portfolio, recommendation, timeline
from .sections.provenance import provenance
from .sections.rejected import sensitivity, why_not
from .sections.risk import simulation, SIMULATION_KEYS
from .sections.scenarios import alternatives, scenarios
from .sections.tradeoffs import robust_budgets, tradeoffs

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

def optional_sections(ctx: MemoContext) -> list[Section]:
    """Registered analyses present in ``result.analyses`` (registry order), then any other list
    of dicts found there, as generic titled tables."""
    analyses = ctx.result.analyses.tables()
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

OPTIONAL_SECTIONS: list[OptionalSection] = [
    OptionalSection("proposal", "The committee's proposal",
                    "The committee's own plan against the recommendation.", build=proposal,
                    also=("proposal_summary", "proposal_projects")),
    OptionalSection("priority", "Funding priority: if the budget is less",
                    "The nested portfolios over the workbook's budget levels, and the order in "
                    "which projects come in.", build=priority,
                    also=PRIORITY_KEYS),
    OptionalSection("stress_test", "Countries: concentration and stress test",
                    "Where the plan's capital goes, and what losing one country would do.",
                    build=countries, section="countries"),
    OptionalSection("frontier", "Trade-offs: NPV against China reliance",
                    "Plans that trade NPV against China reliance removed, and the best plan "
                    "under each total budget.", build=tradeoffs, chart=charts.frontier_figure,
                    also=("budget_ladder", "frontier_note"), section="tradeoffs"),
    OptionalSection("robust", "Robust budgets",
                    "The price of robustness: the best plan when every year's budget must hold "
                    "even if robust_gamma projects run to their high capital cost (budgeted "
                    "uncertainty on capex), against the plan without that protection.",
                    build=robust_budgets),
    OptionalSection("simulation_histogram", "Risk: Monte Carlo simulation",
                    "The chosen plan under random capex overruns and build delays, summarised "
                    "over the draws.", build=simulation, chart=charts.simulation_figure,
                    also=SIMULATION_KEYS, section="simulation"),
    OptionalSection("futures", "Futures: what holds across many possible futures",
                    "The plan re-optimized in each of many sampled futures.", build=futures,
                    also=FUTURES_KEYS),
    OptionalSection("scenarios", "Scenarios", "The plan re-solved under each scenario of the "
                    "workbook's Scenarios sheet.", build=scenarios, also=("scenario_projects",)),
    OptionalSection("alternatives", "Near-optimal alternatives",
                    "Other plans whose objective is close to the best, one row per plan.",
                    build=alternatives, also=("alternatives_note",)),
]

CORE_SECTIONS: list[Callable[[MemoContext], Section]] = [
    recommendation, portfolio, timeline, money, china_reliance, why_not, sensitivity,
]
