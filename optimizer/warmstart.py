"""Plans from what we know of the model: a greedy plan, and a local search that improves
HiGHS's plans while it solves (:class:`Polisher`).

The search works on plain arrays made from the model's own numbers (the objective coefficients
of ``x[p, s]`` and ``d[m, t]``, the bounds of ``d``, the delivery terms in ``m.supply``) and the
instance's rules:

- every *option* of a project is "not funded" or one allowed start; an option has a value (its
  objective coefficient), a delivery vector over the horizon (for its mineral) and a column of
  linear rows ``G`` (budget rows, yearly or cumulative with carry-over; total budget; country
  capex limits; minimum NPV as ``-npv <= -floor``; China-share targets as
  ``-supply <= -need``) with limits ``L``;
- a plan picks one option per project; its objective is the sum of the option values plus
  ``sum_mt coef[m, t] x min(cap[m, t], supply[m, t])`` (the best ``d`` for those starts: ``d``
  has only non-negative objective coefficients, so it fills up to its bound or the deliveries);
- dependencies, exclusive groups, must-fund projects and the risk limit are checked as rules.

*Greedy*: must-fund projects first, then projects by stand-alone value per dollar of capex
(the value of their best option in an empty plan), each at its best option when that adds
value and breaks no row (a row not yet met, such as a target, may not get worse).
*Local search*: the best change of one project's option (fund, unfund, move the start) while one
gains; then the best pair (a change of a funded project, which may free budget, and the best
change of another project after it), which trades budget between projects; until nothing gains
or the time allowed is spent. Moves are valued for all options at once with numpy.

Nothing here is trusted: HiGHS accepts a plan handed to it only when it is feasible in the
model, and the plan a solve returns is verified as every plan is (:mod:`optimizer.verify`). Models with something the search does not
represent (robust budgets, target protection, an objective on other variables, a negative
coefficient on ``d``, an elastic model) get no search: the solve runs as without it.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from .model import PortfolioModel, capex_coefficients, npv_terms, target_needs

EPS = 1e-9  # a gain below this is no gain (objective units)
ROW_TOL = 1e-9  # relative margin kept on every linear row (the verifier allows 1e-6)
WAIT_S = 1.0  # the search waits this long into HiGHS's solve (less for short time limits)


def supported(m: PortfolioModel) -> bool:
    """Whether the search represents every row and the objective of ``m`` exactly."""
    s = m.instance.settings
    if m.elastic or s.robust_gamma > 0 or s.target_protection > 0 or m.objective_expr is None:
        return False
    x, d = set(m.x.values()), set(m.d.values())
    return all(var in x or (var in d and c >= 0) for var, c in m.objective_expr.items())


class _Tables:
    """The arrays of one model (see the module docstring). Option ``first[k]`` is "project k
    not funded"; ``first[k] + 1`` .. ``first[k + 1] - 1`` are its allowed starts."""

    def __init__(self, m: PortfolioModel) -> None:
        inst = m.instance
        s = inst.settings
        years = list(s.years)
        col = {t: i for i, t in enumerate(years)}
        self.T = len(years)
        self.pids = list(inst.projects)
        minerals = list(inst.minerals)
        mcol = {name: i for i, name in enumerate(minerals)}
        coefs = dict(m.objective_expr.items())
        self.cap = np.zeros((len(minerals), self.T))
        self.coef = np.zeros((len(minerals), self.T))
        for (name, t), var in m.d.items():  # d is a share of d_unit tonnes: work in tonnes
            unit = m.d_unit.get((name, t), 1.0)
            self.cap[mcol[name], col[t]] = var.upBound * unit
            self.coef[mcol[name], col[t]] = coefs.get(var, 0.0) / unit
        project, self.start, self.first = [], [], []
        for k, pid in enumerate(self.pids):
            self.first.append(len(project))
            project += [k] * (1 + len(m.starts[pid]))
            self.start += [None] + list(m.starts[pid])
        self.first.append(len(project))
        self.n = len(project)
        self.project = np.array(project, dtype=np.int64)
        self.funded_option = np.array([st is not None for st in self.start])
        self.option_of = {id(m.x[self.pids[k], st]): o for o, (k, st)
                          in enumerate(zip(project, self.start)) if st is not None}
        self.value = np.zeros(self.n)
        for var in m.x.values():
            self.value[self.option_of[id(var)]] = coefs.get(var, 0.0)
        self.mineral = np.array([mcol[inst.projects[self.pids[k]].mineral] for k in project])
        self.supply = np.zeros((self.n, self.T))
        for (_, t), by_project in m.supply.items():
            for terms in by_project.values():
                for var, tonnes in terms:
                    self.supply[self.option_of[id(var)], col[t]] += tonnes
        self.capex = np.array([0.0 if st is None else
                               inst.projects[self.pids[k]].capex(s.capex_basis)
                               for k, st in zip(project, self.start)])
        self._rows(m, col, mcol)
        self._rules(m)

    def _rows(self, m: PortfolioModel, col: dict[int, int], mcol: dict[str, int]) -> None:
        """G (options x rows) and L: sum over the chosen options of G <= L."""
        inst = m.instance
        s = inst.settings
        spend = np.zeros((self.n, self.T))
        for o, (k, st) in enumerate(zip(self.project, self.start)):
            if st is not None:
                for offset, c in capex_coefficients(inst, self.pids[k]):
                    spend[o, col[st + offset]] += c
        budget = np.array([inst.budget[t] for t in s.years])
        if s.budget_carryover:
            spend, budget = np.cumsum(spend, axis=1), np.cumsum(budget)
        rows, limits = list(spend.T), list(budget)
        if s.total_budget_musd is not None:
            rows.append(self.capex)
            limits.append(s.total_budget_musd)
        for country, c in inst.countries.items():
            if c.max_capex_share is not None:
                own = np.array([inst.projects[self.pids[k]].country == country
                                for k in self.project])
                rows.append(self.capex * own - c.max_capex_share * self.capex)
                limits.append(0.0)
        if s.min_npv_musd is not None:
            npv = np.zeros(self.n)
            for var, c in npv_terms(m):
                npv[self.option_of[id(var)]] += c
            rows.append(-npv)
            limits.append(-s.min_npv_musd)
        for name, t, need in target_needs(m):
            rows.append(-self.supply[:, col[t]] * (self.mineral == mcol[name]))
            limits.append(-need)
        self.G = np.array(rows).T.copy()
        limit = np.array(limits)
        self.L = limit - ROW_TOL * np.maximum(1.0, np.abs(limit))

    def _rules(self, m: PortfolioModel) -> None:
        inst = m.instance
        limit = inst.settings.max_project_risk
        self.allowed = np.ones(self.n, dtype=bool)  # must-fund and risk limit
        for k, pid in enumerate(self.pids):
            p = inst.projects[pid]
            if p.must_fund:
                self.allowed[self.first[k]] = False
            if limit is not None and p.risk > limit:
                self.allowed[self.first[k] + 1:self.first[k + 1]] = False
        self.must = ~self.allowed[self.first[:-1]]
        self.online = np.array([np.inf if st is None else st + inst.projects[self.pids[k]]
                                .build_years for k, st in zip(self.project, self.start)])
        pos = {pid: k for k, pid in enumerate(self.pids)}
        self.requires = [(pos[pid], pos[q]) for pid, p in inst.projects.items()
                         for q in p.requires]
        self.needs: dict[int, list[int]] = defaultdict(list)  # k -> projects k requires
        self.needed_by: dict[int, list[int]] = defaultdict(list)  # k -> projects requiring k
        for p, q in self.requires:
            self.needs[p].append(q)
            self.needed_by[q].append(p)
        groups: dict[str, list[int]] = defaultdict(list)
        for k, pid in enumerate(self.pids):
            if inst.projects[pid].exclusive_group:
                groups[inst.projects[pid].exclusive_group].append(k)
        self.group_of = np.full(len(self.pids), -1)
        self.members = list(groups.values())
        for g, members in enumerate(self.members):
            self.group_of[members] = g

    def options(self, k: int, funded_only: bool = False) -> slice:
        return slice(self.first[k] + (1 if funded_only else 0), self.first[k + 1])


class _State:
    """One plan: the chosen option of each project and the sums the moves need."""

    def __init__(self, tab: _Tables, choice: np.ndarray | None = None) -> None:
        self.tab = tab
        self.choice = np.array(tab.first[:-1])  # nothing funded
        self.rows = np.zeros(len(tab.L))
        self.sup = np.zeros_like(tab.cap)
        self.value = 0.0
        for o in [] if choice is None else choice[tab.funded_option[choice]]:
            self.apply(int(o))

    def objective(self) -> float:
        t = self.tab
        return self.value + float(np.sum(t.coef * np.minimum(t.cap, self.sup)))

    def apply(self, o: int) -> None:
        t = self.tab
        k = t.project[o]
        old = self.choice[k]
        self.rows += t.G[o] - t.G[old]
        self.sup[t.mineral[o]] += t.supply[o] - t.supply[old]
        self.value += t.value[o] - t.value[old]
        self.choice[k] = o

    def gains(self, idx: slice | np.ndarray = slice(None)) -> np.ndarray:
        """The objective change of switching each option's project (of all options, or of
        those of ``idx``) to that option, rows and rules aside."""
        t = self.tab
        mineral = t.mineral[idx]
        cur = self.choice[t.project[idx]]
        sup, cap = self.sup[mineral], t.cap[mineral]
        new = np.minimum(cap, sup - t.supply[cur] + t.supply[idx])
        return t.value[idx] - t.value[cur] + np.sum(
            t.coef[mineral] * (new - np.minimum(cap, sup)), axis=1)

    def deltas(self) -> np.ndarray:
        """:meth:`gains` of every option; -inf where the switch breaks a row or a rule."""
        t = self.tab
        cur = self.choice[t.project]
        ok = t.allowed & np.all(self.rows - t.G[cur] + t.G <= t.L, axis=1) & self.rules_ok()
        return np.where(ok, self.gains(), -np.inf)

    def project_deltas(self, k: int) -> np.ndarray:
        """The gains of project k's funded options; -inf where one breaks a rule or a row, a
        row not yet met (a target) counting as broken only when it gets worse."""
        t = self.tab
        idx = t.options(k, funded_only=True)
        rows = self.rows - t.G[self.choice[k]] + t.G[idx]
        ok = t.allowed[idx] & np.all(rows <= np.maximum(t.L, self.rows), axis=1)
        ok &= self._project_rules(k)
        return np.where(ok, self.gains(idx), -np.inf)

    def _project_rules(self, k: int) -> np.ndarray:
        """The rules for project k's funded options, the other projects as they are."""
        t = self.tab
        online = t.online[t.options(k, funded_only=True)]
        ok = np.ones(online.shape, dtype=bool)
        for q in t.needs.get(k, ()):
            ok &= online >= t.online[self.choice[q]]
        for p in t.needed_by.get(k, ()):
            ok &= online <= t.online[self.choice[p]]
        g = t.group_of[k]
        if g >= 0 and any(t.funded_option[self.choice[j]] for j in t.members[g] if j != k):
            ok[:] = False
        return ok

    def rules_ok(self) -> np.ndarray:
        """For every option: switching its project to it keeps dependencies and groups."""
        t = self.tab
        ok = np.ones(t.n, dtype=bool)
        online = t.online[self.choice]  # by project; inf when not funded
        for p, q in t.requires:  # p needs q online no later than p
            ps, qs = t.options(p), t.options(q)
            ok[ps] &= ~t.funded_option[ps] | (t.online[ps] >= online[q])
            if np.isfinite(online[p]):
                ok[qs] &= t.online[qs] <= online[p]
        if t.members:
            funded = t.funded_option[self.choice]
            count = np.zeros(len(t.members))
            member = t.group_of >= 0
            np.add.at(count, t.group_of[member], funded[member])
            g = t.group_of[t.project]
            others = np.where(g >= 0, count[np.maximum(g, 0)] - funded[t.project], 0)
            ok &= ~t.funded_option | (others == 0)
        return ok

    def feasible(self) -> bool:
        t = self.tab
        return bool(np.all(self.rows <= t.L) and np.all(t.allowed[self.choice])
                    and np.all(self.rules_ok()[self.choice]))


def greedy(st: _State, deadline: float) -> None:
    """Fill ``st`` (an empty plan) greedily; see the module docstring."""
    t = st.tab
    alone = np.full(len(t.pids), -np.inf)
    np.maximum.at(alone, t.project, np.where(t.funded_option & t.allowed, st.gains(), -np.inf))
    capex = np.zeros(len(t.pids))
    np.maximum.at(capex, t.project, t.capex)
    order = sorted(range(len(t.pids)),
                   key=lambda k: (not t.must[k], -alone[k] / max(capex[k], 1e-6)))
    for k in order:
        if time.perf_counter() > deadline:
            return
        if t.must[k] or alone[k] > EPS:
            d = st.project_deltas(k)
            if d.size and (d.max() > EPS or (t.must[k] and np.isfinite(d.max()))):
                st.apply(t.first[k] + 1 + int(np.argmax(d)))


def improve(st: _State, deadline: float) -> bool:
    """Local search on a feasible plan; True when it stopped because nothing gains, False when
    the time ran out first."""
    while time.perf_counter() < deadline:
        d = st.deltas()
        o = int(np.argmax(d))
        if d[o] > EPS:
            st.apply(o)
            continue
        found = _pair_move(st, d, deadline)
        if found is None:
            return False
        if not found:
            return True
    return False


def _pair_move(st: _State, d: np.ndarray, deadline: float) -> bool | None:
    """Apply the best gaining pair (a change of a funded project, then the best change of
    another project); False when there is none, None when the time ran out. ``d``: the plan's
    :meth:`_State.deltas`.

    No single change gains when this runs, so only second changes that gain on their own can
    make a pair gain: they are the candidates. For each first change the rows are checked for
    all candidates at once, and candidates of the first change's mineral are valued again.
    """
    t = st.tab
    cur = st.choice[t.project]
    gain = st.gains()
    cand = np.flatnonzero((gain > EPS) & t.allowed)
    if cand.size == 0:
        return False
    alone = st.rows - t.G[cur[cand]] + t.G[cand]  # the rows with each candidate alone
    pairs: list[tuple[float, int, int]] = []
    for k in range(len(t.pids)):
        old = st.choice[k]
        if not t.funded_option[old]:
            continue
        for o in range(t.first[k], t.first[k + 1]):
            if o == old or not np.isfinite(d[o]):
                continue
            if time.perf_counter() > deadline:
                return None
            fits = (t.project[cand] != k) & np.all(alone + (t.G[o] - t.G[old]) <= t.L, axis=1)
            if not fits.any():
                continue
            g = gain[cand].copy()
            mineral = t.mineral[o]
            same = fits & (t.mineral[cand] == mineral)
            if same.any():  # the first change moved this mineral's supply: value again
                c = cand[same]
                sup = st.sup[mineral] - t.supply[old] + t.supply[o]
                cap = t.cap[mineral]
                g[same] = t.value[c] - t.value[cur[c]] + np.sum(t.coef[mineral] * (
                    np.minimum(cap, sup - t.supply[cur[c]] + t.supply[c])
                    - np.minimum(cap, sup)), axis=1)
            g = np.where(fits, g, -np.inf)
            j = int(np.argmax(g))
            if d[o] + g[j] > EPS:
                pairs.append((d[o] + g[j], o, int(cand[j])))
    before = st.objective()
    for _, o1, o2 in sorted(pairs, reverse=True):  # rules checked on the plan itself
        old1, old2 = st.choice[t.project[o1]], st.choice[t.project[o2]]
        st.apply(o1)
        st.apply(o2)
        if st.feasible() and st.objective() > before + EPS:
            return True
        st.apply(old2)
        st.apply(old1)
    return False


class Polisher:
    """Improves HiGHS's plans while it solves, within its time limit and its one thread.

    :meth:`attach` (given the loaded ``highspy.Highs``, once PuLP has set every variable's
    column ``index``: the ``before_solve`` hook of :class:`optimizer.solvers.CancellableHiGHS`)
    subscribes two HiGHS callbacks. Each new plan HiGHS finds is kept; at HiGHS's next call
    for a user solution (after its set-up, at the root, before each dive) the local search
    starts from the kept plan, and a plan better than any known is handed back
    (``setSolution`` on the start variables, and the "started by" binaries when the model has
    them; HiGHS completes the continuous ones and accepts the plan only if it is feasible).
    When HiGHS has found no plan by ``floor`` of the time limit, the search starts once from
    the greedy plan, a floor. (Handed over at the start, the greedy plan sent HiGHS down worse
    paths on the synthetic bench; so it waits.) HiGHS returns the best plan it holds, so the
    plan is never worse for this; it is verified as usual.

    Time: nothing is done in the first ``wait`` of ``time_limit_s`` (at most WAIT_S seconds):
    small models are solved by then, and a plan handed over would only change HiGHS's path.
    One call works at most ``call_s`` seconds (so that Ctrl-C, which HiGHS sees between
    calls, still stops a solve within about a second; a search cut short goes on at the next
    call) and all calls together at most ``share`` of ``time_limit_s``, inside HiGHS's limit.
    ``calls``, ``handed`` (plans handed back) and ``seconds`` say what it did; ``error`` holds
    the message of an exception inside a callback (the search then stops; the solve goes on).
    """

    def __init__(self, m: PortfolioModel, time_limit_s: float, share: float = 0.25,
                 call_s: float = 0.5, wait: float = 0.02, floor: float = 0.1) -> None:
        self.m = m
        self.budget = max(0.0, share * time_limit_s)
        self.call_s = call_s
        self.wait_s = min(wait * time_limit_s, WAIT_S)
        self.floor_s = max(self.wait_s, floor * time_limit_s)
        self.tab: _Tables | None = None
        self.pending: np.ndarray | None = None  # a plan to search from (option per project)
        self.best: np.ndarray | None = None  # the best plan handed over, and its objective
        self.best_value = -np.inf
        self.greedy_done = False
        self.seen = False  # whether HiGHS has reported a plan
        self.calls = self.handed = 0
        self.seconds = 0.0
        self.error: str | None = None

    def attach(self, highs) -> None:
        """Subscribe to ``highs`` when the model is :func:`supported`."""
        if not supported(self.m) or not self.m.x or self.budget <= 0:
            return
        t0 = time.perf_counter()
        self.tab = tab = _Tables(self.m)
        column = np.full(tab.n, -1, dtype=np.int64)
        for var in self.m.x.values():
            column[tab.option_of[id(var)]] = var.index
        self.column = column
        # the columns a plan sets: every x[p, s], and every h[p, s] ("started by s") the model
        # has, so that HiGHS gets every integer variable and need not search for them
        h_column = {key: var.index for key, var in self.m.h.items()}
        self.columns_set = np.array(sorted(column[tab.funded_option].tolist()
                                           + list(h_column.values())), dtype=np.int32)
        where = {c: i for i, c in enumerate(self.columns_set.tolist())}
        self.position = np.array([where.get(c, -1) for c in column])
        # for each funded option, the positions of the h columns it sets to 1 (s >= its start)
        self.h_ones = [np.array([where[h_column[pid, s]] for s in self.m.starts[pid]
                                 if (pid, s) in h_column and s >= start], dtype=np.int64)
                       if start is not None else np.zeros(0, dtype=np.int64)
                       for pid, start in ((tab.pids[k], st) for k, st
                                          in zip(tab.project, tab.start))]
        self.seconds += time.perf_counter() - t0
        highs.cbMipImprovingSolution.subscribe(self._on_improving)
        highs.cbMipUserSolution.subscribe(self._on_user_solution)

    def _on_improving(self, event) -> None:
        if self.error is not None:
            return
        try:
            values = np.asarray(event.data_out.mip_solution)
            tab = self.tab
            funded = tab.funded_option & (values[np.maximum(self.column, 0)] > 0.5)
            choice = np.array(tab.first[:-1])
            choice[tab.project[funded]] = np.flatnonzero(funded)
            self.seen = True
            if self.best is None or not np.array_equal(choice, self.best):
                self.pending = choice  # HiGHS's own plan (not one handed over from here)
        except Exception as exc:  # never let the search fail a solve
            self.error = f"{type(exc).__name__}: {exc}"

    def _on_user_solution(self, event) -> None:
        left = self.budget - self.seconds
        if left <= 0 or self.error is not None or event.data_out.running_time < self.wait_s:
            return
        t0 = time.perf_counter()
        try:
            late = event.data_out.running_time >= self.floor_s
            st = self._work(t0 + min(self.call_s, left), late)
            if st is not None:
                self._hand_over(event, st)
        except Exception as exc:  # never let the search fail a solve
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.seconds += time.perf_counter() - t0

    def _work(self, deadline: float, late: bool) -> _State | None:
        """One call's work: the search from the pending plan (HiGHS's latest, or a search cut
        short); from the greedy plan once, when HiGHS has found no plan by ``late``. Returns
        the plan reached when it is better than any known (to hand over), else None."""
        if self.pending is None and not self.seen and not self.greedy_done and late:
            self.greedy_done = True  # HiGHS has no plan yet: the greedy one is a floor
            st = _State(self.tab)
            greedy(st, deadline)
            if not st.feasible():
                return None
        elif self.pending is not None:
            st = _State(self.tab, self.pending)
            self.pending = None
            if not st.feasible():  # HiGHS's tolerances let a row pass that ours refuse
                return None
            self.best_value = max(self.best_value, st.objective())  # HiGHS holds this one
        else:
            return None
        self.calls += 1
        if not improve(st, deadline):
            self.pending = st.choice.copy()  # to go on at the next call
        value = st.objective()
        if value <= self.best_value + EPS:
            return None
        self.best, self.best_value = st.choice.copy(), value
        return st

    def _hand_over(self, event, st: _State) -> None:
        values = np.zeros(len(self.columns_set))
        funded = st.choice[self.tab.funded_option[st.choice]]
        values[self.position[funded]] = 1.0
        for o in funded:
            values[self.h_ones[o]] = 1.0
        event.data_in.setSolution(self.columns_set, values)
        event.data_in.user_has_solution = True
        event.data_in.repairSolution()
        self.handed += 1
