"""A project's NPV from its cash flows: the one formula the validator and the cash-flow model share.

Units: money in $M, the discount rate a fraction per year, offsets in whole years. The NPV is valued
at the project's start year s (not discounted to first_year): capital spent in year s + o is
discounted by (1 + r)^-o, and the operating flow of year offset j after it comes online (in year
s + build_years + j) by (1 + r)^-(build_years + j).
"""

from __future__ import annotations

import math
from typing import Sequence

from .instance import Project, Settings


def npv_from_flows(capex_musd: float, spend_shares: Sequence[float], build_years: int,
                   cash_flows: Sequence[float], rate: float) -> float:
    """NPV in $M at the start year of a capex of ``capex_musd`` spent by ``spend_shares`` (share of
    the capex by year offset from the start, summing to 1) and of the operating ``cash_flows``
    ($M by year offset from the online year, start + ``build_years``), at yearly ``rate``:

    ``-sum_o capex x share[o] (1 + rate)^-o + sum_j flow[j] (1 + rate)^-(build_years + j)``.
    """
    factor = 1.0 + rate
    spent = math.fsum(capex_musd * share * factor ** -offset
                      for offset, share in enumerate(spend_shares))
    earned = math.fsum(flow * factor ** -(build_years + offset)
                       for offset, flow in enumerate(cash_flows))
    return earned - spent


def project_npv_from_flows(project: Project, settings: Settings) -> float:
    """NPV in $M of ``project`` at its start year, from its planned capital flows (its capex at
    ``settings.capex_basis``, spent by its capex profile) and its operating ``cash_flows``,
    discounted at ``settings.discount_rate``."""
    return npv_from_flows(project.capex(settings.capex_basis), project.spend_shares,
                          project.build_years, project.cash_flows, settings.discount_rate)
