"""Formatting of numbers and words for the memo: one place, so every section writes $M, shares
and years the same way.

Money is in $M ("$1,250.5M" in sentences; "1,250.5" in a table column headed "$M"); shares are
fractions shown as percent ("85.0%"); years are calendar years without separators.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, Sequence

from ..tables import header_words


MISSING = "\u2014"  # em dash: no value

KIND_WORDS = {"plant": ("plant", "plants"), "offtake": ("offtake agreement", "offtake agreements")}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def money(value: float | None) -> str:
    """$M in a sentence: 1250.5 -> "$1,250.5M", -5 -> "-$5.0M"."""
    if value is None or not math.isfinite(value):
        return MISSING
    sign = "-" if value < 0 and round(abs(value), 1) > 0 else ""
    return f"{sign}${abs(value):,.1f}M"


def amount(value: float | None) -> str:
    """$M in a table column whose header says $M: 1250.5 -> "1,250.5"."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value:,.1f}"
    return "0.0" if text == "-0.0" else text


def share(value: float | None) -> str:
    """A fraction as percent: 0.853 -> "85.3%"."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{100 * value:.1f}%"


def signed_money(value: float | None) -> str:
    """A signed $M change in a sentence: 12 -> "+$12.0M", -4.25 -> "-$4.2M", 0 -> "$0.0M"."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = money(value)
    return text if text.startswith("-") or text == "$0.0M" else "+" + text


def signed_amount(value: float | None) -> str:
    """A signed $M change in a table column headed $M: 12 -> "+12.0", -4.25 -> "-4.2"."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = amount(value)
    return text if text.startswith("-") or text == "0.0" else "+" + text


def share_years(value: float | None) -> str:
    """Share-years of China reliance removed (the security unit), 3 decimals: "2.055"."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value:,.3f}"
    return "0.000" if text == "-0.000" else text


def signed_share_years(value: float | None) -> str:
    """A signed change in share-years: "+0.260", "-0.442", "0.000"."""
    text = share_years(value)
    return text if text in (MISSING, "0.000") or text.startswith("-") else "+" + text


def percent_change(value: float) -> str:
    """A signed fraction as percent: -0.3 -> "-30%", 0.1 -> "+10%", 0.125 -> "+12.5%"."""
    text = f"{100 * value:+.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def objective_amount(value: float | None, objective: str) -> str:
    """An objective value with its unit: "$1,250.5M" or "0.412 share-years"."""
    if value is None or not math.isfinite(value):
        return MISSING
    if objective == "security":
        return f"{value:,.3f} share-years"
    return money(value)


def objective_cell(value: float | None, objective: str) -> str:
    """An objective value for a table column whose header carries the unit."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:,.3f}" if objective == "security" else amount(value)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"1 plant", "3 plants", "1,843 plants"."""
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def year_span(years: Iterable[int]) -> str:
    """The first and last of ``years``: "2027\u20132035", or "2031" when they are one year."""
    years = list(years)
    if not years:
        return MISSING
    first, last = min(years), max(years)
    return str(first) if first == last else f"{first}\u2013{last}"


def join_words(items: Sequence[str], last: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def kind_counts(kinds: Iterable[str]) -> str:
    """"2 plants and 1 offtake agreement" from the kinds of the funded projects."""
    counts: dict[str, int] = {kind: 0 for kind in KIND_WORDS}  # plants first, then offtakes
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    parts = []
    for kind, n in counts.items():
        if n == 0:
            continue
        singular, plural_form = KIND_WORDS.get(kind, (kind, kind + "s"))
        parts.append(plural(n, singular, plural_form))
    return join_words(parts)


def project_label(name: str, project_id: str) -> str:
    """"Gallium refinery (GA-PLANT)"; just the id when the name is the id or empty."""
    name = " ".join(str(name).split())
    return project_id if not name or name == project_id else f"{name} ({project_id})"


def year_list(years: Sequence[int]) -> str:
    """Years as words, runs collapsed: [2027, 2028, 2029, 2031] -> "2027-2029 and 2031"."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return join_words([f"{r[0]}" if len(r) == 1 else f"{r[0]}\u2013{r[-1]}" for r in runs])


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Generic tables (analyses given as lists of dicts)


def header_for(key: str, objective_unit: str | None = None) -> str:
    """A column header from an analysis key, in words with its unit ("npv_musd" -> "NPV $M",
    "china_share:gallium" -> "China share, gallium"): the workbook's words, from
    :func:`optimizer.tables.header_words`."""
    return header_words(key, objective_unit)


def is_share_key(key: str) -> bool:
    """Whether a key names a fraction shown as percent: a share, probability (``probability``,
    ``p_met``, ``p_exceeded``...), rate, change, gap or ``*_pct``. Security figures
    (``security_share_years``, ``security_change``, ``security_floor``) are share-years, a plain
    number, and so are quantiles such as ``p10``."""
    k = key.lower()
    if "security" in k:
        return False
    if k.startswith("p_") or k.endswith("_pct") or k == "pct":
        return True
    k = k.replace("share_years", "").replace("share-years", "")
    return any(w in k for w in ("share", "probability", "change", "rate", "gap", "within"))


STATUS_WORDS = {"no_plan": "no plan in the time limit"}


def status_text(status: Any) -> str:
    """A re-solve's status as a reader sees it (``no_plan``: no plan in the time limit)."""
    if status is None:
        return MISSING
    return STATUS_WORDS.get(str(status), str(status))


def cell_text(key: str, value: Any) -> str:
    """A value of a generic table as text, formatted by its key: ``*_musd`` as $M amounts, keys
    naming a share, probability (``p_*``), rate or change as percent, security figures as
    share-years (3 decimals), years as integers."""
    k = str(key).lower()
    if value is None:
        return MISSING
    if k == "status":
        return status_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(cell_text(key, v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    if not is_number(value):
        return " ".join(str(value).split())
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if "musd" in k or "busd" in k:
        return amount(float(value))
    if is_share_key(k) and isinstance(value, float):
        return share(value)
    if "security" in k or "share_years" in k:
        return share_years(float(value))
    if ("year" in k or "online" in k) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int):
        return f"{value:,}"
    return number(value)


def number(value: float) -> str:
    """A plain number: thousands separated, 1 decimal from 100 up, 3 significant digits below."""
    if abs(value) >= 100:
        return f"{value:,.1f}"
    if value == 0:
        return "0"
    return f"{value:.3g}"
