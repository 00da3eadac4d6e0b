"""The input workbook schema, declared once.

Every field of every sheet is listed here with its type, unit, default, allowed range, meaning and
friendly label. The reader, the validator, the template and ``docs/input-workbook.md`` are all
generated from these tables; nothing else in the package spells a field name's rules again.

Field kinds (``Field.kind``):

``int``     whole number                      ``number``  real number
``share``   fraction 0..1 (a value > 1 is probably a percentage typed as 85: the message says so)
``year``    calendar year (integer)           ``text``    free text
``bool``    TRUE/FALSE, yes/no, 1/0           ``choice``  one of ``Field.choices``
``idlist``  comma-separated project ids      ``list``    comma-separated names (countries)

Every numeric field has a finite ``minimum`` and ``maximum``. Where the business has no limit, the
bound is a guard (``Field.guard``) set far beyond any real figure, so that a typing or unit slip
(a capex of 1e16 $M, an NPV of 1e308) is refused with the cell named instead of reaching the solver.

Text keys (``Field.key``: ids, mineral names, groups, countries and the references to them) are
compared by :func:`key`: two spellings that differ only by case, surrounding spaces or invisible
characters are the same key.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

# Guards on magnitudes (see the module docstring). Each is far beyond any real figure.
MONEY_LIMIT_MUSD = 1e7  # $M: 10 trillion dollars, about half of US GDP; for capex, NPV, budgets
TONNES_LIMIT = 1e9  # t or t/yr: above the world's yearly output of any refined mineral
PREMIUM_LIMIT_USD_PER_T = 1e7  # $/t = $10,000/kg, several times the price of gallium or germanium
WEIGHT_LIMIT = 1e6  # security weights are relative; a million times another is already absurd
MULTIPLIER_LIMIT = 100.0  # scenario multipliers: a hundredfold change is a stress test's limit
TIME_LIMIT_MAX_S = 1e6  # s: about 11.6 days of solver time
# target_protection: funded projects of one mineral assumed to fail at once. A portfolio funds a
# handful of plants per mineral, and every unit of protection calls for that much spare capacity;
# more than ten failing together is a stress no decision is planned against (a slip: 100 for 1).
PROTECTION_LIMIT = 10
OFFSET_LIMIT_YEARS = 200  # CashFlows year_offset: as long as the longest operating_years allowed
YEAR_MIN, YEAR_MAX = 1900, 2200  # calendar years

NO_BREAK_SPACES = "\u00a0\u2007\u202f"  # no-break, figure and narrow no-break space


class _Required:
    """Sentinel: the field has no default and must be filled."""

    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Field:
    """One column of a sheet (or one row of Settings)."""

    name: str
    kind: str
    description: str
    label: str
    unit: str = ""
    default: Any = REQUIRED
    default_text: str = ""  # how the default reads when it is derived ("= capex_low_musd")
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    unique: bool = False
    width: int = 14  # template column width, in Excel characters
    exclusive_minimum: bool = False  # True: the value must be > minimum, not >= minimum
    guard: bool = False  # True: the maximum only catches typing and unit slips (no business rule)
    key: bool = False  # text compared by key(): case, spaces and invisible characters ignored
    # A required field that may be left blank in one case, in words ("the project has CashFlows
    # rows"); the validator checks that case itself.
    required_unless: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def header(self) -> str:
        """Friendly header shown by the template: label and unit ("Capex low ($M)")."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def default_display(self) -> str:
        if self.default_text:
            return self.default_text
        if self.required:
            return "required"
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return "TRUE" if self.default else "FALSE"
        return str(self.default)

    def range_display(self) -> str:
        if self.choices:
            return " / ".join(f"`{c}`" for c in self.choices)
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None and self.exclusive_minimum:
            return f"> {_num(lo)}, <= {_num(hi)}"
        if lo is not None and hi is not None:
            return f"{_num(lo)} .. {_num(hi)}"
        if lo is not None:
            return f"{'>' if self.exclusive_minimum else '>='} {_num(lo)}"
        if hi is not None:
            return f"<= {_num(hi)}"
        return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def clean(text: str) -> str:
    """The spelling of a text key as used downstream: invisible format characters (Unicode
    category Cf, such as the zero-width space U+200B) removed, no-break spaces turned into plain
    spaces, surrounding whitespace stripped. Case and every visible character are kept."""
    text = "".join(" " if c in NO_BREAK_SPACES else c for c in text
                   if unicodedata.category(c) != "Cf")
    return text.strip()


def key(text: str) -> str:
    """The comparison key of a text key ("GA-1", " ga\u200b-1 " -> "ga-1"): Unicode NFKC, invisible
    format characters (category Cf) removed, no-break spaces made plain spaces, surrounding
    whitespace stripped, case folded. Two spellings with the same key are one id."""
    return clean(unicodedata.normalize("NFKC", text)).casefold()


def is_invisible(char: str) -> bool:
    """True for a character a reader cannot tell from nothing or from a plain space: a format
    character (category Cf, such as U+200B) or a no-break space."""
    return char in NO_BREAK_SPACES or unicodedata.category(char) == "Cf"


def invisible_characters(text: str) -> list[str]:
    """The invisible characters of ``text``, each as "U+200B (ZERO WIDTH SPACE)", in order of
    first appearance."""
    found = dict.fromkeys(c for c in text if is_invisible(c))
    return [f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})" for c in found]


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook: its fields, whether it must exist, what it is for."""

    name: str
    fields: tuple[Field, ...]
    description: str
    required: bool = True
    key_value: bool = False  # Settings: one row per field, columns `setting` and `value`

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


SETTINGS = Sheet(
    name="Settings",
    key_value=True,
    description="One row per setting, columns `setting` and `value`.",
    fields=(
        Field("first_year", "year", "First year of the plan.", "First year", minimum=YEAR_MIN,
              maximum=YEAR_MAX),
        Field("horizon_years", "int", "Years modelled: first_year .. first_year + horizon_years - 1.",
              "Horizon", unit="years", default=25, minimum=1, maximum=60),
        Field("discount_rate", "share", "Discounts the NPV of a later start, and security "
              "benefits, to first_year: the factor of year t is (1 + rate)^-(t - first_year).",
              "Discount rate", unit="%/yr", default=0.08, minimum=0.0, maximum=0.5),
        Field("objective", "choice", "What the plan maximizes: `npv` (discounted project NPV), "
              "`security` (China reliance removed, in weighted share-years) or `weighted` (NPV plus "
              "displaced tonnes valued at each mineral's security premium).", "Objective",
              default="weighted", choices=("npv", "security", "weighted")),
        Field("capex_basis", "choice", "Which capital cost the budgets are checked against: "
              "capex_low_musd, the mid-point of low and high, or capex_high_musd.", "Capex basis",
              default="mid", choices=("low", "mid", "high")),
        Field("total_budget_musd", "number", "Cap on all capital spent over the horizon.",
              "Total budget", unit="$M", default=None, minimum=0.0, maximum=MONEY_LIMIT_MUSD,
              guard=True),
        Field("budget_carryover", "bool", "Unspent budget of a year may be spent in later years "
              "(cumulative spending never exceeds cumulative budget).", "Budget carry-over",
              default=False),
        Field("target_year", "year", "Year from which each mineral's target_china_share must hold; "
              "required when any mineral has a target. Must lie within the horizon.", "Target year",
              default=None, minimum=YEAR_MIN, maximum=YEAR_MAX),
        Field("min_npv_musd", "number", "The plan's discounted NPV may not fall below this; keeps a "
              "`security` plan financially sound.", "Minimum NPV", unit="$M", default=None,
              minimum=-MONEY_LIMIT_MUSD, maximum=MONEY_LIMIT_MUSD, guard=True),
        Field("solver", "choice", "MILP solver: HiGHS (through highspy) or CBC.", "Solver",
              default="highs", choices=("highs", "cbc")),
        Field("time_limit_s", "number", "Solver time limit.", "Time limit", unit="s", default=60.0,
              minimum=0.001, maximum=TIME_LIMIT_MAX_S, guard=True),
        Field("mip_gap", "share", "Relative optimality gap at which the solver may stop.", "MIP gap",
              default=0.0001, minimum=0.0, maximum=1.0),
        # Additions to contract v1 (optional; see docs/input-workbook.md).
        Field("robust_gamma", "int", "Budgeted uncertainty (Bertsimas-Sim): each year's budget must "
              "hold even if any this many funded projects spending that year run to capex_high_musd. "
              "0 switches it off.", "Robust gamma", unit="projects", default=0, minimum=0,
              maximum=1000),
        Field("delay_probability", "share", "Monte Carlo: probability that a funded project's build "
              "slips.", "Delay probability", default=0.3, minimum=0.0, maximum=1.0),
        Field("max_delay_years", "int", "Monte Carlo: largest slip in years (a slip is uniform on "
              "1..max).", "Max delay", unit="years", default=3, minimum=0, maximum=30),
        Field("seed", "int", "Random seed for Monte Carlo draws; same seed, same figures.", "Seed",
              default=20250131, minimum=0, maximum=2**32 - 1),
        Field("max_project_risk", "share", "No project whose risk score is above this may be "
              "funded (a must_fund project above it makes the workbook infeasible). Blank: no "
              "limit.", "Max project risk", default=None, minimum=0.0, maximum=1.0),
        Field("alternatives_within", "share", "Near-optimal alternatives must score within this "
              "fraction of the optimum.", "Alternatives within", default=0.05, minimum=0.0,
              maximum=1.0),
        # Version 2 (optional).
        Field("risk_adjusted", "bool", "The objective, the targets and min_npv_musd count expected "
              "figures under country and project losses, delays and the capex range; budgets stay "
              "on planned capex.", "Risk adjusted", default=False),
        Field("target_protection", "int", "Each target must hold from target_year even when this "
              "many funded projects of the mineral (those delivering most that year) deliver "
              "nothing. 0 switches it off.", "Target protection", unit="projects", default=0,
              minimum=0, maximum=PROTECTION_LIMIT, guard=True),
    ),
)

MINERALS = Sheet(
    name="Minerals",
    description="One row per mineral the projects deliver.",
    fields=(
        Field("mineral", "text", "Name used by Projects.", "Mineral", unique=True, key=True,
              width=18),
        Field("us_demand_t", "number", "US annual demand (apparent consumption) in first_year, in "
              "metric tons of the form the mineral's row names, the same form as its projects' "
              "capacities: contained metal or oxide content (for lithium, say, either lithium "
              "content or lithium carbonate equivalent, LCE = 5.323 x content: choose one, write "
              "it in the mineral's name, and use it for every project of it).",
              "US demand", unit="t/yr", minimum=0.0, exclusive_minimum=True, maximum=TONNES_LIMIT,
              guard=True, width=14),
        Field("demand_growth", "number", "Yearly growth of demand, as a fraction.", "Demand growth",
              unit="%/yr", default=0.0, minimum=-0.5, maximum=0.5),
        Field("china_share", "share", "Share of US demand that depends on China today (mined or "
              "refined there).", "China share", unit="%", minimum=0.0, maximum=1.0),
        Field("target_china_share", "share", "The China share may not exceed this from target_year "
              "on.", "Target China share", unit="%", default=None, minimum=0.0,
              maximum=1.0),
        Field("weight", "number", "Importance in the `security` objective.", "Weight", default=1.0,
              minimum=0.0, maximum=WEIGHT_LIMIT, guard=True),
        Field("security_premium_usd_per_t", "number", "Value of one tonne of China-dependent supply "
              "displaced, for the `weighted` objective.", "Security premium", unit="$/t",
              default=0.0, minimum=0.0, maximum=PREMIUM_LIMIT_USD_PER_T, guard=True, width=16),
    ),
)

PROJECTS = Sheet(
    name="Projects",
    description="One row per candidate plant or offtake agreement.",
    fields=(
        Field("project_id", "text", "Stable identifier.", "Project id", unique=True, key=True,
              width=12),
        Field("name", "text", "Display name.", "Name", width=34),
        Field("kind", "choice", "A processing plant (refinery, separation facility) or an offtake "
              "agreement.", "Kind", choices=("plant", "offtake"), width=10),
        Field("mineral", "text", "What it delivers: a name from the Minerals sheet.", "Mineral",
              key=True, width=16),
        Field("country", "text", "Where it is.", "Country", key=True, width=14),
        Field("capex_low_musd", "number", "Capital cost, low end of the range. For an offtake "
              "agreement: the prepayment or investment the agreement needs (often 0).",
              "Capex low",
              unit="$M", minimum=0.0, maximum=MONEY_LIMIT_MUSD, guard=True),
        Field("capex_high_musd", "number", "Capital cost, high end of the range; at least "
              "capex_low_musd.", "Capex high", unit="$M", default=None,
              default_text="= capex_low_musd", minimum=0.0, maximum=MONEY_LIMIT_MUSD, guard=True),
        Field("build_years", "int", "Years from start until it delivers (0: delivers in its start "
              "year).", "Build time", unit="years", minimum=0, maximum=30),
        Field("earliest_start", "year", "First year it may start.", "Earliest start", default=None,
              default_text="first_year", minimum=YEAR_MIN, maximum=YEAR_MAX),
        Field("latest_start", "year", "Last year it may start; the plan picks the start year in "
              "between.", "Latest start", default=None, default_text="= earliest_start",
              minimum=YEAR_MIN, maximum=YEAR_MAX),
        Field("capacity_tpa", "number", "Tonnes a year it delivers to US supply once online, in "
              "the form its mineral's demand is counted in (contained metal, oxide, or "
              "carbonate equivalent).",
              "Capacity", unit="t/yr", minimum=0.0, maximum=TONNES_LIMIT, guard=True),
        Field("operating_years", "int", "Years it delivers once online (an offtake's contract term).",
              "Operating life", unit="years", default=None, default_text="to horizon end",
              minimum=1, maximum=200),
        Field("npv_musd", "number", "The project's own financial NPV, valued at its start year, net "
              "of capex, without security value. For an offtake agreement: the premium paid over "
              "the market price over its term, as a negative NPV (a discount obtained is "
              "positive), net of any prepayment. May be blank for a project with CashFlows rows: "
              "its NPV is then computed from them.", "NPV", unit="$M",
              minimum=-MONEY_LIMIT_MUSD, maximum=MONEY_LIMIT_MUSD, guard=True,
              required_unless="the project has CashFlows rows (its NPV is computed from them)"),
        Field("requires", "idlist", "Project ids, comma-separated: each must be funded and online "
              "no later than this project.", "Requires", default=None, key=True, width=14),
        Field("exclusive_group", "text", "At most one project of a group is funded.",
              "Exclusive group", default=None, key=True, width=14),
        Field("risk", "share", "Political and execution risk score, for reporting and limits.",
              "Risk", default=0.0, minimum=0.0, maximum=1.0, width=8),
        Field("must_fund", "bool", "The plan must fund it.", "Must fund", default=False, width=10),
        # Version 2 (optional).
        Field("loss_probability", "share", "Yearly probability that the project itself is lost "
              "(destroyed, its contract broken), from its start year on; independent of its "
              "country's loss event.", "Loss probability", unit="%/yr", default=0.0, minimum=0.0,
              maximum=1.0, width=12),
        Field("delay_probability", "share", "Probability that it comes online late; overrides its "
              "country's and the Settings figure.", "Delay probability", unit="%", default=None,
              default_text="its country's, else Settings", minimum=0.0, maximum=1.0, width=12),
        Field("max_delay_years", "int", "A late project is late by 1..max_delay_years years, each "
              "equally likely; overrides its country's and the Settings figure.", "Max delay",
              unit="years", default=None, default_text="its country's, else Settings", minimum=0,
              maximum=30, width=10),
        Field("proposed_start", "year", "The committee's own plan: the year it proposes to start "
              "the project (blank: not proposed). Scored by `evaluate`; a year outside the "
              "project's window is a violation of the proposal, not an input error.",
              "Proposed start", default=None, minimum=YEAR_MIN, maximum=YEAR_MAX, width=12),
    ),
)

COUNTRIES = Sheet(
    name="Countries",
    required=False,
    description="Optional (version 2). Risk by country: one row per Projects country that has a "
                "loss event, its own delays or a capex limit. A country with no row has no loss "
                "event and the Settings delays.",
    fields=(
        Field("country", "text", "A country of the Projects sheet.", "Country", unique=True,
              key=True, width=16),
        Field("loss_probability", "share", "Yearly probability of a country-wide loss event (war, "
              "seizure, expropriation): every project there is lost that year, and stays lost.",
              "Loss probability", unit="%/yr", default=0.0, minimum=0.0, maximum=1.0, width=12),
        Field("delay_probability", "share", "Probability that a project there comes online late.",
              "Delay probability", unit="%", default=None,
              default_text="Settings delay_probability", minimum=0.0, maximum=1.0, width=12),
        Field("max_delay_years", "int", "A late project there is late by 1..max_delay_years years, "
              "each equally likely.", "Max delay", unit="years", default=None,
              default_text="Settings max_delay_years", minimum=0, maximum=30, width=10),
        Field("max_capex_share", "share", "The plan's capex in this country (planned, at the capex "
              "basis) may not exceed this share of the plan's total capex.", "Max capex share",
              unit="%", default=None, minimum=0.0, maximum=1.0, width=12),
        Field("source", "text", "Where the figures come from.", "Source", default=None, width=34),
    ),
)

CASH_FLOWS = Sheet(
    name="CashFlows",
    required=False,
    description="Optional (version 2). Net operating cash flows of a project by year after it "
                "comes online; its NPV is then computed from them and its capital flows.",
    fields=(
        Field("project_id", "text", "A Projects id.", "Project id", key=True, width=12),
        Field("year_offset", "int", "0 is the project's first operating year (its online year); "
              "a missing offset between given ones has a flow of 0.", "Year offset",
              unit="years", minimum=0, maximum=OFFSET_LIMIT_YEARS, guard=True),
        Field("cash_flow_musd", "number", "Net operating cash flow of that year; + is an inflow.",
              "Cash flow", unit="$M", minimum=-MONEY_LIMIT_MUSD, maximum=MONEY_LIMIT_MUSD,
              guard=True),
    ),
)

BUDGET = Sheet(
    name="Budget",
    description="One row per horizon year; a horizon year with no row has a budget of 0.",
    fields=(
        Field("year", "year", "A calendar year within the horizon.", "Year", unique=True, width=10,
              minimum=YEAR_MIN, maximum=YEAR_MAX),
        Field("budget_musd", "number", "Capital that may be spent in that year. A horizon year "
              "with no row has a budget of 0: nothing may be spent in it.", "Budget",
              unit="$M", minimum=0.0, maximum=MONEY_LIMIT_MUSD, guard=True),
    ),
)

CAPEX_PROFILE = Sheet(
    name="CapexProfile",
    required=False,
    description="Optional. A project with no rows spends its capex evenly over its build years "
                "(all in its start year when build_years is 0).",
    fields=(
        Field("project_id", "text", "A Projects id.", "Project id", key=True, width=12),
        Field("year_offset", "int", "0 is the start year; at most max(build_years - 1, 0).",
              "Year offset", unit="years", minimum=0, maximum=30),
        Field("share", "share", "Share of the project's capex spent that year; a project's shares "
              "sum to 1.", "Share", unit="%", minimum=0.0, maximum=1.0),
    ),
)

SCENARIOS = Sheet(
    name="Scenarios",
    required=False,
    description="Optional (an addition to contract v1). Each named scenario is solved and compared "
                "side by side with the base plan.",
    fields=(
        Field("scenario", "text", "Scenario name.", "Scenario", unique=True, key=True, width=18),
        Field("capex_multiplier", "number", "Multiplies every project's capex.", "Capex multiplier",
              default=1.0, minimum=0.0, maximum=MULTIPLIER_LIMIT, guard=True),
        Field("delay_years", "int", "Added to every project's build time.", "Delay", unit="years",
              default=0, minimum=0, maximum=30),
        Field("demand_multiplier", "number", "Multiplies every mineral's US demand.",
              "Demand multiplier", default=1.0, minimum=0.0, maximum=MULTIPLIER_LIMIT, guard=True),
        Field("npv_multiplier", "number", "Multiplies every project's NPV.", "NPV multiplier",
              default=1.0, minimum=-MULTIPLIER_LIMIT, maximum=MULTIPLIER_LIMIT, guard=True),
        Field("lost_countries", "list", "Countries of the Projects sheet, comma-separated: in this "
              "scenario no project there may be funded (a must-fund one is released).",
              "Lost countries", default=None, key=True, width=18),
    ),
)

BUDGET_LEVELS = Sheet(
    name="BudgetLevels",
    required=False,
    description="Optional (version 2). The budget is not known yet: each row is a budget the "
                "decision may get, as a multiple of the Budget sheet and total_budget_musd, with "
                "its probability. The results add a funding priority list: one portfolio per "
                "level, nested, maximizing the probability-weighted objective. The "
                "recommendation stays the best plan at the workbook's own budget.",
    fields=(
        Field("level", "text", "Name of the budget level ('cut', 'as planned').", "Level",
              unique=True, key=True, width=16),
        Field("budget_multiplier", "number", "At this level every yearly budget and "
              "total_budget_musd are this times the workbook's (0.7: a 30% cut); each level has "
              "its own.", "Budget multiplier", minimum=0.0, maximum=MULTIPLIER_LIMIT, guard=True,
              unique=True, width=14),
        Field("probability", "share", "Chance that the budget is at this level; the levels' "
              "probabilities sum to 1.", "Probability", unit="%", minimum=0.0, maximum=1.0,
              width=12),
    ),
)

# The order here is the order of sheets in the template and the documentation.
SHEETS: tuple[Sheet, ...] = (SETTINGS, MINERALS, PROJECTS, COUNTRIES, BUDGET, CAPEX_PROFILE,
                             CASH_FLOWS, SCENARIOS, BUDGET_LEVELS)
SHEETS_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}

# Settings sheet columns (the contract's names).
SETTING_COLUMN = "setting"
VALUE_COLUMN = "value"
# Optional free-form provenance sheet carried into the memo.
SOURCES_SHEET = "Sources"


def normalize_header(text: object) -> str:
    """Header matching rule of the contract: case-insensitive, spaces and underscores alike.

    A trailing unit in parentheses (the template's friendly headers, "Capex low ($M)") is ignored.
    """
    s = str(text).strip().lower()
    if "(" in s and s.endswith(")"):
        s = s[: s.index("(")].strip()
    return "_".join(s.replace("-", " ").replace("_", " ").split())


def header_aliases(sheet: Sheet) -> dict[str, str]:
    """Normalized header -> field name, accepting both the field name and the friendly label."""
    out: dict[str, str] = {}
    for f in sheet.fields:
        out[normalize_header(f.name)] = f.name
        out[normalize_header(f.label)] = f.name
    return out
