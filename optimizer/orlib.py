"""OR-Library multidimensional 0/1 knapsack instances, read and mapped onto the portfolio model.

A multidimensional knapsack (max sum p_j x_j s.t. sum_j r_ij x_j <= b_i, x_j in {0, 1}) is a
portfolio with fixed start years: one project per item, one budget year per constraint. The mapping
(:func:`knapsack_instance`) follows ``docs/modelling-notes.md``:

- horizon = m years (one per constraint), discount 0, objective ``npv``, mip_gap 0;
- item j -> project with npv_musd = p_j, one allowed start (first_year), build_years = m, and
  capex = sum_i r_ij spent with the profile r_ij / capex in year offset i, so that its spend in
  budget year i is r_ij (an item whose weights are all 0 gets capex 0 and an even profile);
- constraint i -> budget of year first_year + i = b_i; no carry-over, no total budget;
- one dummy mineral (demand 1 t, china_share 0) because the contract needs a Minerals sheet.

Two file formats (see ``tests/data/ORLIB_SOURCE.md``): ``mknap1`` (``K``, then per problem
``n m opt``, profits, m constraint rows, capacities) and ``mknap2`` (free-text header, then per
problem ``problem NAME.DAT`` and, after a ``+++`` line, ``m n``, profits, capacities, m rows, opt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .instance import Instance, Mineral, Project, Settings

FIRST_YEAR = 2030
PROFILE_RTOL = 1e-9  # capex x share must give back every weight to this relative tolerance
DUMMY_MINERAL = "knapsack"


@dataclass(frozen=True)
class Knapsack:
    """One multidimensional knapsack: ``weights[i][j]`` is item j's use of constraint i."""

    name: str
    profits: tuple[float, ...]  # one per item
    weights: tuple[tuple[float, ...], ...]  # m rows of n
    capacities: tuple[float, ...]  # one per constraint
    optimum: float | None  # published optimum (None when the file gives 0, i.e. unknown)

    @property
    def n(self) -> int:
        """Number of items."""
        return len(self.profits)

    @property
    def m(self) -> int:
        """Number of constraints."""
        return len(self.capacities)

    def value(self, chosen: set[int]) -> float:
        """Total profit of the items with indices in ``chosen``."""
        return sum(self.profits[j] for j in chosen)

    def fits(self, chosen: set[int]) -> bool:
        """Whether the chosen items satisfy every constraint."""
        return all(sum(row[j] for j in chosen) <= cap for row, cap in zip(self.weights,
                                                                              self.capacities))


def _number(token: str) -> float:
    """A data token as a float (integers stay exact)."""
    return float(token)


def _take(tokens: list[str], pos: int, count: int) -> tuple[tuple[float, ...], int]:
    """``count`` numbers from ``tokens[pos:]`` and the position after them."""
    if pos + count > len(tokens):
        raise ValueError(f"the data ends early: wanted {count} numbers at token {pos}, "
                         f"only {len(tokens) - pos} left")
    return tuple(_number(t) for t in tokens[pos:pos + count]), pos + count


def _rows(tokens: list[str], pos: int, m: int, n: int) -> tuple[tuple[tuple[float, ...], ...], int]:
    """``m`` rows of ``n`` numbers each."""
    rows = []
    for _ in range(m):
        row, pos = _take(tokens, pos, n)
        rows.append(row)
    return tuple(rows), pos


def _int_token(tokens: list[str], pos: int) -> int:
    value = _number(tokens[pos])
    if value != int(value) or value < 0:
        raise ValueError(f"expected a count at token {pos}, found {tokens[pos]!r}")
    return int(value)


def parse_mknap1(text: str) -> list[Knapsack]:
    """All problems of an OR-Library ``mknap1.txt``, named ``mknap1_1`` .. ``mknap1_K``."""
    tokens = text.split()
    count, pos = _int_token(tokens, 0), 1
    problems = []
    for k in range(1, count + 1):
        n, m = _int_token(tokens, pos), _int_token(tokens, pos + 1)
        opt = _number(tokens[pos + 2])
        profits, pos = _take(tokens, pos + 3, n)
        weights, pos = _rows(tokens, pos, m, n)
        capacities, pos = _take(tokens, pos, m)
        problems.append(Knapsack(f"mknap1_{k}", profits, weights, capacities, opt or None))
    if pos != len(tokens):
        raise ValueError(f"{len(tokens) - pos} numbers left over after {count} problems")
    return problems


_PROBLEM = re.compile(r"^\s*problem\s+(\S+?)(?:\.DAT)?\s*$", re.IGNORECASE | re.MULTILINE)
_PLUS = re.compile(r"^\s*\+{5,}\s*$", re.MULTILINE)


def _parse_mknap2_block(name: str, block: str) -> Knapsack:
    """One mknap2 problem: the text between its ``+++`` line and the next one."""
    tokens = block.split()
    m, n = _int_token(tokens, 0), _int_token(tokens, 1)
    profits, pos = _take(tokens, 2, n)
    capacities, pos = _take(tokens, pos, m)
    weights, pos = _rows(tokens, pos, m, n)
    (opt,), pos = _take(tokens, pos, 1)
    if pos != len(tokens):
        raise ValueError(f"{name}: {len(tokens) - pos} numbers left over")
    return Knapsack(name, profits, weights, capacities, opt or None)


def parse_mknap2(text: str) -> list[Knapsack]:
    """All problems of an OR-Library ``mknap2.txt`` (SENTO1, ..., HP2), named without ``.DAT``."""
    heads = list(_PROBLEM.finditer(text))
    problems = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        section = text[head.end():end]
        pluses = list(_PLUS.finditer(section))
        if not pluses:
            raise ValueError(f"{head.group(1)}: no '+++' line after the problem name")
        body_end = pluses[1].start() if len(pluses) > 1 else len(section)
        problems.append(_parse_mknap2_block(head.group(1), section[pluses[0].end():body_end]))
    return problems


def item_profile(weights: list[float]) -> tuple[float, tuple[float, ...]]:
    """(capex, shares) of an item: capex = sum of its weights, shares = weights / capex.

    An item whose weights are all 0 costs nothing: capex 0 and an even profile.
    """
    if any(w < 0 for w in weights):
        raise ValueError("negative knapsack weights cannot be capital spending")
    capex = float(sum(weights))
    if capex == 0:
        return 0.0, tuple([1.0 / len(weights)] * len(weights))
    return capex, tuple(w / capex for w in weights)


def check_profile(capex: float, shares: tuple[float, ...], weights: list[float]) -> None:
    """Raise ValueError unless capex x share reproduces every weight to PROFILE_RTOL."""
    for i, (share, w) in enumerate(zip(shares, weights)):
        if abs(capex * share - w) > PROFILE_RTOL * max(abs(w), 1.0):
            raise ValueError(f"constraint {i}: capex {capex!r} x share {share!r} = "
                             f"{capex * share!r}, not the weight {w!r}")


def item_project(k: Knapsack, j: int, first_year: int = FIRST_YEAR) -> Project:
    """Item ``j`` of ``k`` as a project with one allowed start and spend r_ij in year i."""
    weights = [row[j] for row in k.weights]
    capex, shares = item_profile(weights)
    check_profile(capex, shares, weights)
    pid = f"item_{j + 1:03d}"
    return Project(
        project_id=pid, name=f"{k.name} item {j + 1}", kind="plant", mineral=DUMMY_MINERAL,
        country="n/a", capex_low_musd=capex, capex_high_musd=capex, build_years=k.m,
        earliest_start=first_year, latest_start=first_year, capacity_tpa=0.0,
        npv_musd=k.profits[j], capex_profile=shares,
    )


def knapsack_instance(k: Knapsack, first_year: int = FIRST_YEAR,
                      time_limit_s: float = 600.0) -> Instance:
    """The portfolio Instance whose optimum equals the knapsack's (see the module docstring)."""
    settings = Settings(
        first_year=first_year, horizon_years=k.m, discount_rate=0.0, objective="npv",
        capex_basis="low", solver="highs", time_limit_s=time_limit_s, mip_gap=0.0,
    )
    minerals = {DUMMY_MINERAL: Mineral(DUMMY_MINERAL, us_demand_t=1.0, china_share=0.0)}
    projects = {p.project_id: p for p in (item_project(k, j, first_year) for j in range(k.n))}
    budget = {first_year + i: float(b) for i, b in enumerate(k.capacities)}
    return Instance(settings=settings, minerals=minerals, projects=projects, budget=budget,
                    name=k.name)


def budget_rows(instance: Instance) -> dict[int, list[float]]:
    """Year -> spend of every project in that year if funded (recomputed from the Instance).

    For a knapsack instance these are the constraint rows: ``budget_rows(inst)[first_year + i][j]``
    must equal ``weights[i][j]``.
    """
    s = instance.settings
    rows: dict[int, list[float]] = {t: [] for t in s.years}
    for p in instance.projects.values():
        cap = p.capex(s.capex_basis)
        shares = p.spend_shares
        start = p.earliest_start
        for t in s.years:
            offset = t - start
            rows[t].append(cap * shares[offset] if 0 <= offset < len(shares) else 0.0)
    return rows
