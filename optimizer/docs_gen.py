"""Generate ``docs/input-workbook.md`` from the schema.

The field tables come from :mod:`optimizer.schema`; the paragraphs that explain how the figures are
used (discounting, objectives, deliveries, spending) are constants here, copied from the input
contract. Run ``python -m optimizer.docs_gen`` after changing the schema; ``--check`` only reports
whether the file is up to date. The words that describe a field (type, allowed values) are also used
by the template's notes and README sheet, so the workbook and the page never disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import schema
from .schema import Field, Sheet

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "input-workbook.md"
REGENERATE_COMMAND = "python -m optimizer.docs_gen"

KIND_WORDS = {
    "int": "integer",
    "number": "number",
    "share": "fraction",
    "year": "year",
    "text": "text",
    "bool": "boolean",
    "choice": "choice",
    "idlist": "project ids, comma-separated",
    "list": "names, comma-separated",
}
BOOL_ALLOWED = "TRUE / FALSE (also yes/no, 1/0)"

# What the project added to contract v1: optional, so every v1 workbook keeps working.
ADDED_SETTINGS = (
    "robust_gamma",
    "delay_probability",
    "max_delay_years",
    "seed",
    "alternatives_within",
    "max_project_risk",
    "risk_adjusted",
    "target_protection",
)
ADDED_SHEETS = (schema.COUNTRIES.name, schema.CASH_FLOWS.name, schema.SCENARIOS.name,
                schema.BUDGET_LEVELS.name)
# Columns added to sheets of contract v1 (version 2): sheet name -> field names.
ADDED_COLUMNS = {
    schema.PROJECTS.name: ("loss_probability", "delay_probability", "max_delay_years",
                           "proposed_start"),
}


# ---------------------------------------------------------------------------------------------
# How one field reads in words (shared with the template's notes and README sheet).
# ---------------------------------------------------------------------------------------------

def plain(text: str) -> str:
    """Text without Markdown code marks, for spreadsheet notes."""
    return text.replace("`", "")


def type_text(f: Field) -> str:
    """The field's type in words: "fraction", "text, unique"."""
    words = KIND_WORDS[f.kind]
    return f"{words}, unique" if f.unique else words


def unit_text(f: Field) -> str:
    """The unit of the stored value: a percentage label ("%/yr") reads as a fraction
    ("fraction/yr"), because a cell showing 8% holds 0.08."""
    if f.unit.startswith("%"):
        return "fraction" + f.unit[1:]
    return f.unit


def allowed_text(f: Field) -> str:
    """Allowed values in words (Markdown code marks around choices); "" when any value of the type
    is accepted."""
    if f.kind == "bool":
        return BOOL_ALLOWED
    text = f.range_display()
    if not text and f.kind == "share":
        return "0 .. 1"
    return text


def is_addition(sheet: Sheet, f: Field | None = None) -> bool:
    """True for a sheet (``f`` None), a setting or a column that contract v1 does not have."""
    if f is None:
        return sheet.name in ADDED_SHEETS
    if sheet.key_value:
        return f.name in ADDED_SETTINGS
    return f.name in ADDED_COLUMNS.get(sheet.name, ())


# ---------------------------------------------------------------------------------------------
# Fixed text of the page.
# ---------------------------------------------------------------------------------------------

INTRO = """\
One `.xlsx` workbook describes one investment decision. A finance team fills it in Excel (or
LibreOffice); the optimizer reads it, checks it, and decides which projects to fund and when.
This page is the contract: names written here are stable, so that workbooks made for one release
keep working in the next. The project may add optional sheets, columns and settings; it may not
rename or drop those of contract version 1. Additions to version 1 are marked *(addition)*; all of
them are optional.

The easiest start is the annotated template: `python -m optimizer template PATH` writes a blank
workbook with a README sheet, friendly headers with units (the reader accepts them as well as the
field names below), a note on every header, drop-down lists and number formats."""

CONVENTIONS = """\
## Conventions for every sheet
- The header is in row 1, one record per row below it. Blank rows are skipped.
- A header matches a field name below case-insensitively, with spaces and underscores treated alike
  (`Capex Low MUSD` matches `capex_low_musd`). The template's friendly labels are accepted too, with
  or without their unit in parentheses (`Capex low ($M)` matches `capex_low_musd`).
- Money is in millions of US dollars (`_musd`, unit $M). Quantities are metric tons (`_t`, `_tpa`
  per year).
- Shares are fractions from 0 to 1. An Excel cell formatted as a percentage already holds a fraction
  (85% is stored as 0.85). A share above 1 is an error whose message suggests the fraction.
- Years are calendar years (2031), never offsets, except `year_offset` in CapexProfile and
  CashFlows.
- Booleans accept TRUE/FALSE, yes/no, 1/0.
- A cell holding a formula is read through its cached value. A formula with no cached value (a file
  written by a script and never opened in a spreadsheet program) is an error that names the cells.
- A sheet whose name is close to a contract sheet's (`Project`, `Capex Profiles`) is an error that
  names the intended sheet; other unknown sheets (such as the template's README) are ignored.
  Unknown columns are reported as warnings, never silently used.
- Every error names the sheet, the Excel cell or row (`Projects!F12`), the value found, and what
  would be accepted. All errors are reported together; nothing is solved or written while any
  remain."""

SETTINGS_NOTES = """\
Discounting: the factor of year t is (1 + discount_rate)^-(t - first_year). A project's npv_musd is
discounted by the factor of its start year; security benefits by the factor of the year of delivery.

Objectives:
- `npv`: the sum of funded projects' `npv_musd`, each discounted from its start year to first_year.
- `security`: the China reliance removed, summed over minerals and years: for each mineral and year,
  the tonnes of China-dependent supply that funded projects displace, divided by that year's US
  demand, times the mineral's `weight`, discounted to first_year. Its unit is share-years: removing
  all China dependence of one weight-1 mineral for one year scores the fraction of demand that was
  China-dependent.
- `weighted`: npv plus, for each mineral and year, displaced tonnes times
  `security_premium_usd_per_t` (converted to $M), discounted to first_year.

Budget carry-over is cumulative from first_year: with it, the spending of years first_year..t never
exceeds the budgets of those years, for every t. Without it, each year's spending stays within that
year's budget.

Robust budgets *(addition)*: with `robust_gamma` = G > 0, the spending checked against each year's
budget (or the cumulative budgets, with carry-over) is the spending at `capex_basis` plus, for the G
funded projects with the largest overruns in that year, their overrun: (capex_high_musd - capex at
the basis) x the share of capex spent that year. G = 0 checks the spending at the basis only.

Delay analysis *(addition)*: `delay_probability`, `max_delay_years` and `seed` drive the Monte Carlo
analysis of the chosen plan: each funded project's build slips with that probability, by a whole
number of years drawn uniformly from 1..max_delay_years. The same seed gives the same figures.

Alternatives *(addition)*: near-optimal alternative plans are reported only when their objective is
within `alternatives_within` (a fraction) of the optimum.

Risk-adjusted planning *(addition)*: with `risk_adjusted` TRUE, the objective, the targets and
`min_npv_musd` count expected figures under the loss and delay model of the Countries sheet:
displaced tonnes of a mineral and year are min(expected deliveries, China-dependent volume) (linear;
an upper bound of the expected displaced tonnes), and NPV is the expectation of the discounted cash
flows under loss, delay and the triangular capex draw (mean (low + basis + high) / 3). Budgets stay
on planned capex.

Target protection *(addition)*: with `target_protection` = k > 0, each target must hold in every
year from target_year even when the k funded projects of that mineral with the largest deliveries
that year deliver nothing (planned deliveries, or expected ones with `risk_adjusted`). At most
10: no plan is made against more than ten projects of one mineral failing together."""

MINERALS_NOTES = """\
China reliance of a mineral in a year = (china_share x demand - displaced tonnes) / demand, where
demand = us_demand_t x (1 + demand_growth)^(year - first_year), and displaced tonnes = the
deliveries of its funded projects online that year, capped at china_share x demand.

Where no published figure gives `china_share`, derive it by a stated method (for example net import
reliance x China's share of world refined output) and label it an assumption."""

PROJECTS_NOTES = """\
Deliveries: a project that starts in year s is online from year s + build_years and delivers
`capacity_tpa` tonnes a year to US supply of its mineral for `operating_years` years (to the horizon
end when blank). Only deliveries within the horizon count.

Start years: the plan picks one start year from earliest_start .. latest_start, restricted to years
in which all of the project's spending falls within the horizon (see Budget).

`npv_musd` is the finance team's own valuation of the project, net of its capital cost; it is taken
as given, so capex_basis changes budgets, not NPV. NPV counts the project's whole life as the team
valued it; security benefits count only the years within the horizon. For an offtake, capex is
whatever prepayment or investment the agreement needs (often 0) and `npv_musd` carries the premium
paid over the market price (often negative).

A project with CashFlows rows *(addition)* may leave `npv_musd` blank: its NPV is computed from its
capital and operating flows (see `CashFlows`), and so depends on the capex basis. When both are
given and differ by more than max(0.5 $M, 1% of |npv_musd|), that is an error naming both figures.

Risk *(addition)*: `loss_probability` is the project's own yearly probability of being lost
(destroyed, its contract broken), from its start year on, independent of its country's loss event
(sheet `Countries`). `delay_probability` and `max_delay_years` override its country's figures,
which override the Settings ones.

`proposed_start` *(addition)*: the committee's own portfolio, the projects with a proposed start
year. `python -m optimizer evaluate WORKBOOK` scores it without optimizing; a start outside the
project's window is a violation of the proposal that `evaluate` reports, not an input error."""

COUNTRIES_NOTES = """\
A country's loss event happens in each year from first_year on (past the horizon too, for the flows
of a project's life) with its `loss_probability`; once it has happened (in year u) it is permanent:
every project of that country is lost from year u on, including one that starts later.
Independently, in each year from its own start year on, a funded project is lost with its own
`loss_probability` (sheet `Projects`). Independently, with its delay probability it comes online d
years late, d uniform on 1..max_delay_years. It delivers `capacity_tpa` in each year from its actual
online year, for `operating_years` years, in which it has not been lost. A lost project spends its
capex of the year of the loss and nothing after. A project's loss does not stop the projects that
require it (a stated simplification).

`max_capex_share` is a limit of the plan: its capex in the country (planned, at the capex basis;
projects with no capex do not count) may not exceed that share of its total capex.

A `country` must be a country of the Projects sheet: one spelt differently only by case or invisible
characters is read as the Projects spelling, with a warning; one that no project is in is a warning
(its row has no effect). A country may have one row."""

CASH_FLOWS_NOTES = """\
A project's capital flows: its capex c at the capex basis spends c x f[o] in year start + o (f its
CapexProfile shares, or even shares over its build years). Its NPV, valued at its start year s at
`discount_rate` r, is

`NPV = -sum_o c f[o] (1+r)^-o + sum_j cf[j] (1+r)^-(build_years + j)`

with cf[j] the `cash_flow_musd` of year_offset j (0 for an offset without a row). A project without
rows keeps `npv_musd` as given; its operating flow is taken as a level yearly amount that gives that
NPV."""

BUDGET_NOTES = """\
The reader warns about each horizon year with no row. Capital may only be spent within the
horizon: a start year is open to a project only if all of its spending falls in horizon years.

Spending rule: a project's capex at `capex_basis` (low, the mid-point of low and high, or high) is
spent over the years after its start year following its capex profile: the share for year offset k
is spent in start year + k."""

SCENARIOS_NOTES = """\
Each row is solved as a variant of the base workbook (every project's capex times
`capex_multiplier`, build time plus `delay_years`, every mineral's demand times
`demand_multiplier`, every NPV times `npv_multiplier`) and compared side by side with the base
plan.

`lost_countries` *(addition)* lists countries of the Projects sheet, comma-separated (spelt as
there; a look-alike spelling is read as the Projects one, with a warning; an unknown one is an
error): in that scenario no project there may be funded (a must-fund one there is released for that
scenario)."""

BUDGET_LEVELS_NOTES = """\
The priority plan has one portfolio per level, each within that level's budgets (every yearly
budget and `total_budget_musd` times `budget_multiplier`, every other rule as for the plan), the
funded sets nested (a project funded at a level is funded at every level with a larger multiplier;
its start year may differ), maximizing the probability-weighted objective. A level at which no plan
exists is reported as such, and the priority plan is made over the levels that have one (those
levels count nothing in the expected objective). Its funding order ranks projects by the lowest
level that funds them, ties by the objective each adds there (the level's objective less that of
its plan without the project), then by `project_id`. The recommendation stays the best plan at the
workbook's own budget. A sheet with no rows is no sheet. The probabilities must sum to 1 within
1e-6; `level` and `budget_multiplier` must each differ from row to row."""

SOURCES_SECTION = f"""\
## Sheet `{schema.SOURCES_SHEET}` (optional) *(addition)*

Free-form provenance: any headers in row 1 (for example source, figure, value, note), one source per
row below. Every cell is read as text and carried into the decision memo; nothing in it changes the
plan."""

COMMAND_LINE = """\
## Command line and outputs
- `python -m optimizer solve WORKBOOK [--out DIR]` solves and writes into DIR (default
  `reports/<workbook name>/`): `results.json`, `results.xlsx` and the decision memo.
- `python -m optimizer validate WORKBOOK` checks the workbook only.
- `python -m optimizer template PATH` writes a blank, annotated input workbook.
- `status` is `optimal` when the solver proved the plan within `mip_gap` (results give the gap
  achieved), `feasible` when a time limit stopped it first. A run that ends `optimal` returns the
  same plan every time.
- Exit status: 0 solved (optimal, or feasible when a limit stopped the solver); 2 the input is
  invalid (all problems listed, nothing written); 3 no plan satisfies the constraints (with the
  reason); 1 anything else.

`results.json` holds at least:
```
status            "optimal" | "feasible" | "infeasible"
objective         "npv" | "security" | "weighted"
objective_value   number
npv_musd          number, discounted to first_year
mip_gap           number or null
solver            name and version
solve_seconds     number
funded            [{project_id, start_year, online_year, capex_musd}]
spend_by_year     {"2026": number, ...}
china_share       {mineral: {"2026": {"before": number, "after": number}, ...}}
input_sha256      hex digest of the workbook file
```"""

KEYS_AND_RANGES_HEADING = "## Text keys, merged cells and ranges"

KEYS_RULE = """\
Text keys are compared after normalisation: Unicode NFKC, invisible format characters (Unicode
category Cf, such as the zero-width space U+200B) removed, no-break spaces turned into plain spaces,
surrounding whitespace stripped, and case folded. Two spellings that normalise to the same key are
one key:
- Ids that must be unique (`project_id`, `mineral`, `scenario`, `level`, the `country` of a
  Countries row):
  two rows whose keys collide are an error naming both cells and both spellings (`GA-1` and `ga-1`
  are not two projects).
- A reference (`requires`, the `mineral` of a project, the `project_id` of a CapexProfile or
  CashFlows row, the `country` of a Countries row, the countries of `lost_countries`) that matches a
  defined id (for a country: a Projects country) only after normalisation is accepted and read as
  the defined spelling, with a warning naming the cell, the spelling found and the spelling used.
- Groups and countries written in several spellings (`kz` and `KZ`) are one group or country, read
  as the first spelling seen, with one warning per extra spelling.
- A key holding invisible characters gets a warning naming the cell and each character (U+200B);
  the characters are removed (a no-break space becomes a plain space)."""

MERGED_RULE = """\
A merged range below a sheet's header row is read as its top-left value in every cell it covers,
with a warning naming the range (`Projects!O2:O3`); a merged range touching the header row (row 1)
is an error: headers are one cell each, so unmerge it (the free-text Sources sheet is exempt)."""

RANGES_RULE = """\
Every number has a range, shown in the *allowed* column of the tables above; a value outside it is
an error naming the cell, the value found and the range (the workbook is not solved). Where the
business sets no limit, the range is a guard far beyond any real figure, so that a typing or unit
slip (a capex of 1e16 $M) is caught before it reaches the solver:"""

FILE_RULE = """\
A workbook saved as 'Strict Open XML Spreadsheet' is read like an ordinary .xlsx (its Strict
namespaces are converted in memory; the SHA-256 recorded is that of the file as given); one that
cannot be converted is refused with the instruction to save it in Excel as 'Excel Workbook
(*.xlsx)' or in LibreOffice as 'Excel 2007-365 (.xlsx)'. A file holding two parts of the same name
(compared ignoring case and a leading slash) is damaged or tampered with, and is refused."""


def key_fields_text() -> str:
    """The text keys of every sheet, one bullet per sheet ("- `Projects`: `project_id`, ...")."""
    lines = ["The text keys are:"]
    for sheet in schema.SHEETS:
        names = [f"`{f.name}`" for f in sheet.fields if f.key]
        if names:
            lines.append(f"- `{sheet.name}`: {', '.join(names)}")
    return "\n".join(lines)


def guard_lines() -> str:
    """One bullet per guarded field: its sheet, name, range and unit."""
    lines = []
    for sheet in schema.SHEETS:
        for f in sheet.fields:
            if f.guard:
                unit = f" {unit_text(f)}" if f.unit else ""
                lines.append(f"- `{sheet.name}` `{f.name}`: {allowed_text(f)}{unit}")
    return "\n".join(lines)


def render_keys_and_ranges() -> str:
    """The section on look-alike text keys, merged cells, number ranges and refused files."""
    return "\n\n".join([KEYS_AND_RANGES_HEADING, KEYS_RULE, key_fields_text(), MERGED_RULE,
                        RANGES_RULE, guard_lines(), FILE_RULE])


SHEET_NOTES = {
    schema.SETTINGS.name: SETTINGS_NOTES,
    schema.MINERALS.name: MINERALS_NOTES,
    schema.PROJECTS.name: PROJECTS_NOTES,
    schema.BUDGET.name: BUDGET_NOTES,
    schema.COUNTRIES.name: COUNTRIES_NOTES,
    schema.CASH_FLOWS.name: CASH_FLOWS_NOTES,
    schema.SCENARIOS.name: SCENARIOS_NOTES,
    schema.BUDGET_LEVELS.name: BUDGET_LEVELS_NOTES,
}


# ---------------------------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------------------------

def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _field_row(sheet: Sheet, f: Field) -> list[str]:
    name = f"`{f.name}`" + (" *(addition)*" if is_addition(sheet, f) else "")
    row = [name, type_text(f), unit_text(f), f.default_display(), allowed_text(f), f.description]
    if not sheet.key_value:
        row.append(f.header)
    return row


def _sheet_heading(sheet: Sheet) -> str:
    if sheet.key_value:
        suffix = f" (columns `{schema.SETTING_COLUMN}`, `{schema.VALUE_COLUMN}`)"
    else:
        suffix = "" if sheet.required else " (optional)"
    if is_addition(sheet):
        suffix += " *(addition)*"
    return f"## Sheet `{sheet.name}`{suffix}"


def render_sheet(sheet: Sheet) -> str:
    """The section of one sheet: heading, what it holds, its field table, how it is used."""
    first = "setting" if sheet.key_value else "field"
    header = [first, "type", "unit", "default", "allowed", "meaning"]
    if not sheet.key_value:
        header.append("template header")
    parts = [_sheet_heading(sheet), sheet.description,
             _table(header, [_field_row(sheet, f) for f in sheet.fields])]
    if sheet.name in SHEET_NOTES:
        parts.append(SHEET_NOTES[sheet.name])
    return "\n\n".join(parts)


def render_input_doc() -> str:
    """The whole of ``docs/input-workbook.md``, generated from the schema."""
    parts = [
        "# Input workbook",
        f"<!-- Generated from optimizer/schema.py by `{REGENERATE_COMMAND}`; "
        "do not edit by hand. -->",
        INTRO,
        CONVENTIONS,
        *(render_sheet(sheet) for sheet in schema.SHEETS),
        SOURCES_SECTION,
        render_keys_and_ranges(),
        COMMAND_LINE,
    ]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite ``docs/input-workbook.md`` (or, with ``--check``, report whether it is current)."""
    parser = argparse.ArgumentParser(prog=REGENERATE_COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the file differs from the schema, without writing it")
    parser.add_argument("--path", type=Path, default=DOC_PATH, help="file to write")
    args = parser.parse_args(argv)
    text = render_input_doc()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is out of date; run `{REGENERATE_COMMAND}`.", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
