"""Stress test of the recommended plan: each country with a funded project lost, no re-solve.

For each country with a funded project and each mineral with a China-share target, the plan's
China share in ``target_year`` when every project of that country delivers nothing (planned
deliveries otherwise), and whether the target still holds. Without a target year, the horizon's
last year is used and ``target`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..families import TARGET_TOL
from ..results import Result
from ..risk import operating_window


@dataclass(frozen=True)
class StressTest:
    """One row per (country, mineral): ``country``, ``mineral``, ``china_share`` (fraction) in
    ``year``, the mineral's ``target`` (None without one), ``holds`` and the tonnes lost."""

    rows: tuple[Mapping[str, Any], ...]

    def tables(self) -> dict[str, Any]:
        return {"stress_test": [dict(r) for r in self.rows]}

    def worst(self) -> Mapping[str, Any] | None:
        """The country whose loss breaks most targets (then raises a China share the most)."""
        by_country: dict[str, list[Mapping[str, Any]]] = {}
        for row in self.rows:
            by_country.setdefault(row["country"], []).append(row)
        if not by_country:
            return None

        def harm(rows: list[Mapping[str, Any]]) -> tuple[int, float]:
            broken = sum(1 for r in rows if r["holds"] is False)
            return broken, max(r["china_share"] - r["planned_china_share"] for r in rows)

        country = max(by_country, key=lambda c: (harm(by_country[c]), c))
        broken, rise = harm(by_country[country])
        return {"country": country, "targets_broken": broken, "largest_rise": rise,
                "rows": by_country[country]}


def stress_test(result: Result) -> StressTest:
    """The plan's China shares with each country's funded projects lost (see the module)."""
    inst, ev = result.instance, result.evaluation
    s = inst.settings
    year = s.target_year if s.target_year is not None else s.last_year
    countries = list(dict.fromkeys(inst.projects[pid].country for pid in result.funded_ids))
    minerals = [m for m in inst.minerals.values()
                if m.target_china_share is not None or s.target_year is None]
    rows = []
    for country in countries:
        lost = [pid for pid in result.funded_ids if inst.projects[pid].country == country]
        for m in minerals:
            tonnes = sum(inst.projects[pid].capacity_tpa for pid in lost
                         if inst.projects[pid].mineral == m.mineral
                         and delivers(result, pid, year))
            if not tonnes and m.target_china_share is None:
                continue
            demand = ev.demand[m.mineral][year]
            exposed = m.china_share * demand
            left = max(ev.planned_deliveries[m.mineral][year] - tonnes, 0.0)
            share = (exposed - min(left, exposed)) / demand
            target = m.target_china_share if s.target_year is not None else None
            rows.append({"country": country, "mineral": m.mineral, "year": year,
                         "planned_china_share": ev.planned_share_after[m.mineral][year],
                         "china_share": share, "target": target,
                         "holds": None if target is None else share <= target + TARGET_TOL,
                         "tonnes_lost": tonnes})
    return StressTest(tuple(rows))



def delivers(result: Result, pid: str, year: int) -> bool:
    """Whether a funded project delivers in ``year`` as planned."""
    p = result.instance.projects[pid]
    return year in operating_window(result.instance, p, result.evaluation.online[pid])
