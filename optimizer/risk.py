"""The risk model of the contract ("Risk by country and project"), as pure functions.

A country's loss event happens in each year from ``first_year`` on with its ``loss_probability``
q_c; once it has happened (in year u) every project of that country is lost from u on. A funded
project is also lost, independently, in each year from its own start year on with its own
``loss_probability`` q_p. Independently, with its delay probability it comes online d years late,
d uniform on 1..max_delay_years. A lost project spends nothing after the year it is lost in, and
delivers nothing (and earns nothing) from that year on (see :mod:`optimizer.cashflow`).

Delay parameters: the project's own, else its country's, else the Settings'.

So, for project p started in s, with b its build years and L its operating years:

- P(not lost in any year up to t) = (1 - q_c)^(t - first_year + 1) (1 - q_p)^(t - s + 1)
- capex of year y is spent with P(not lost before y) = (1 - q_c)^(y - first_year) (1 - q_p)^(y - s)
- expected delivery in year t = capacity x P(s + b + d <= t < s + b + d + L) x P(not lost by t)

Probabilities are fractions; years are calendar years.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cashflow import operating_flows
from .instance import Instance, Project


@dataclass(frozen=True)
class ProjectRisk:
    """What the risk model says about one project: loss probabilities (yearly) and delays."""

    country_loss: float  # q_c, the yearly probability of its country's loss event
    own_loss: float  # q_p, its own yearly loss probability
    delay_probability: float
    max_delay_years: int

    def delay_distribution(self) -> list[tuple[int, float]]:
        """(d, P(delay = d)) for d = 0 .. max_delay_years."""
        if self.max_delay_years <= 0 or self.delay_probability <= 0:
            return [(0, 1.0)]
        each = self.delay_probability / self.max_delay_years
        return [(0, 1.0 - self.delay_probability)] + [(d, each) for d in
                                                       range(1, self.max_delay_years + 1)]


def project_risk(instance: Instance, pid: str) -> ProjectRisk:
    """The risk parameters of project ``pid``: its own, else its country's, else the Settings'."""
    p = instance.projects[pid]
    s = instance.settings
    country = instance.countries.get(p.country)
    delay_p = p.delay_probability
    kmax = p.max_delay_years
    if country is not None:
        delay_p = country.delay_probability if delay_p is None else delay_p
        kmax = country.max_delay_years if kmax is None else kmax
    return ProjectRisk(
        country_loss=country.loss_probability if country is not None else 0.0,
        own_loss=p.loss_probability,
        delay_probability=s.delay_probability if delay_p is None else delay_p,
        max_delay_years=s.max_delay_years if kmax is None else kmax,
    )


def survival(instance: Instance, risk: ProjectRisk, start: int, year: int) -> float:
    """P(the project, started in ``start``, is not lost in any year up to and including
    ``year``)."""
    first = instance.settings.first_year
    country_years = max(0, year - first + 1)
    own_years = max(0, year - start + 1)
    return (1.0 - risk.country_loss) ** country_years * (1.0 - risk.own_loss) ** own_years


def spend_probability(instance: Instance, risk: ProjectRisk, start: int, year: int) -> float:
    """P(the capex of ``year`` is spent): the project was not lost before ``year``."""
    return survival(instance, risk, start, year - 1)


def operating_window(instance: Instance, p: Project, online: int) -> range:
    """The years a project online in ``online`` delivers (``operating_years``, or to the horizon
    end when blank), before any loss."""
    s = instance.settings
    end = s.last_year if p.operating_years is None else online + p.operating_years - 1
    return range(online, end + 1)


def expected_delivery(instance: Instance, pid: str, start: int, year: int,
                      risk: ProjectRisk | None = None) -> float:
    """Expected tonnes project ``pid`` started in ``start`` delivers in ``year`` under the
    risk model (t a year)."""
    p = instance.projects[pid]
    risk = risk or project_risk(instance, pid)
    online = start + p.build_years
    on = sum(prob for d, prob in risk.delay_distribution()
             if year in operating_window(instance, p, online + d))
    if not on:
        return 0.0
    return p.capacity_tpa * on * survival(instance, risk, start, year)


def mean_capex(p: Project, basis: str) -> float:
    """Mean of the triangular capex draw over [low, high] with its mode at the basis ($M)."""
    return (p.capex_low_musd + p.capex(basis) + p.capex_high_musd) / 3.0


def expected_npv_at_start(instance: Instance, pid: str, start: int,
                          risk: ProjectRisk | None = None) -> float:
    """The expectation of the project's own NPV, valued at ``start``, under loss, delay and the
    triangular capex draw ($M): capital ``mean capex x f[o]`` in year s + o when not lost
    before it; operating flow j in year s + b + d + j when not lost by then."""
    s = instance.settings
    p = instance.projects[pid]
    risk = risk or project_risk(instance, pid)
    v = 1.0 / (1.0 + s.discount_rate)
    capex = mean_capex(p, s.capex_basis)
    value = -sum(capex * share * v ** o * spend_probability(instance, risk, start, start + o)
                 for o, share in enumerate(p.spend_shares) if share)
    ops = operating_flows(p, s)
    for d, prob in risk.delay_distribution():
        for j, amount in enumerate(ops):
            offset = p.build_years + d + j
            value += prob * amount * v ** offset * survival(instance, risk, start, start + offset)
    return value


def deliveries_by_year(instance: Instance, pid: str, start: int,
                       expected: bool = False) -> dict[int, float]:
    """Tonnes project ``pid`` started in ``start`` delivers in each horizon year (t a year; years
    with no delivery left out): as planned, or, with ``expected``, the expectation under the risk
    model (:func:`expected_delivery`). The model's delivery coefficients and the verifier's
    deliveries both come from here."""
    p = instance.projects[pid]
    s = instance.settings
    if p.capacity_tpa <= 0:
        return {}
    online = start + p.build_years
    if not expected:
        return {t: p.capacity_tpa for t in operating_window(instance, p, online)
                if t <= s.last_year}
    risk = project_risk(instance, pid)
    out = {}
    for t in range(max(online, s.first_year), s.last_year + 1):
        tonnes = expected_delivery(instance, pid, start, t, risk)
        if tonnes:
            out[t] = tonnes
    return out
