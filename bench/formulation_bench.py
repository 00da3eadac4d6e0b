"""The model's rows written in the started-by binaries against the same rows in the start
variables, on the re-solves of the bundled example: HiGHS seconds, nodes and optimum of each.

Run: .venv/bin/python bench/formulation_bench.py [--workbook PATH] [--repeat 1]

Problems: the base problem, every rejected project forced in (as why-not makes them), and every
budget step of the sensitivity (-30% .. +30%). Each is built twice by ``optimizer.model``:

- ``h rows``: the model as it is (cumulative budget, total budget and delivery rows written in
  ``h`` by ``model.in_started_by``; dependencies as ``started_by(p, s) <= started_by(q, ...)``);
- ``x rows``: the same model with those four row families written in ``x`` as before
  (:func:`x_rows`, kept here only for this comparison).

Each model is written as an MPS file and solved by highspy alone (one thread, seed 0, the
workbook's gap, RINS and RENS off as in ``optimizer.solvers``, no starting plan), the two forms taking turns at running
first; the bench prints one line a problem and the totals, and fails (exit 1) if an optimum
differs by more than the gap. A print, not a test: the seconds depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import highspy

from optimizer import model as M
from optimizer import solvers
from optimizer.analyses.sensitivity import CHANGES, at_level
from optimizer.analyses.whynot import forced
from optimizer.model import capex_coefficients, linear, starts_of
from optimizer.solve import solve
from optimizer.validate import load_instance

EXAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "central_asia_refining.xlsx"


def _x_budgets(m: M.PortfolioModel) -> None:
    """Cumulative budget rows over y[t] = spend of year t (the rows before in_started_by)."""
    inst, s = m.instance, m.instance.settings
    if not s.budget_carryover or s.robust_gamma > 0:
        return M.add_budgets(m)
    spend: dict[int, list] = {t: [] for t in s.years}
    for pid in inst.projects:
        for start in starts_of(m, pid):
            for o, c in capex_coefficients(inst, pid):
                spend[start + o].append((m.x[pid, start], c))
    y, cum = {}, 0.0
    for t in s.years:
        y[t] = m.prob.add_variable(m.name("y"), lowBound=0)
        m.prob.addConstraint(linear(spend[t] + [(y[t], -1.0)]) == 0, m.name("spend"))
        cum += inst.budget[t]
        m.add_row("budget", t, [(y[u], 1.0) for u in y], "<=", cum, scale=cum)


def _x_total(m: M.PortfolioModel) -> None:
    total = m.instance.settings.total_budget_musd
    if total is None:
        return
    terms = [(m.x[pid, s], p.capex(m.instance.settings.capex_basis))
             for pid, p in m.instance.projects.items() for s in starts_of(m, pid)]
    m.add_row("total_budget", "total", terms, "<=", total, scale=total)


def _x_dependencies(m: M.PortfolioModel) -> None:
    for pid, p in m.instance.projects.items():
        for q in p.requires:
            build_q = m.instance.projects[q].build_years
            for s in starts_of(m, pid):
                terms = [(m.x[pid, s], 1.0)] + [(m.x[q, s2], -1.0) for s2 in starts_of(m, q)
                                                if s2 + build_q <= s + p.build_years]
                m.add_row("dependency", (pid, q, s), terms, "<=", 0.0)


@contextmanager
def x_rows():
    """Build models with the four row families in ``x`` while inside."""
    saved = dict(M.CONSTRAINTS), M.in_started_by
    M.CONSTRAINTS.update(budget=_x_budgets, total_budget=_x_total, dependency=_x_dependencies)

    def x_terms(m, pid, coef):  # deliveries: sum_s coef[s] x[p, s], as before
        return [(m.x[pid, s], c) for s, c in coef.items() if c]
    M.in_started_by = x_terms
    try:
        yield
    finally:
        M.CONSTRAINTS.clear()
        M.CONSTRAINTS.update(saved[0])
        M.in_started_by = saved[1]


def highs_run(m: M.PortfolioModel, mip_gap: float, time_limit: float,
              folder: Path) -> tuple[float, float, int]:
    """(seconds, objective or inf, nodes) of HiGHS alone on the model's MPS file (written by
    PuLP with its objective sense, read by highspy, as in synthetic_bench.py)."""
    mps = folder / "model.mps"
    m.prob.writeMPS(str(mps), with_objsense=True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(mps))
    for key, value in {"threads": 1, "random_seed": 0, "mip_rel_gap": mip_gap,
                       "time_limit": time_limit, **solvers.HIGHS_MIP_OPTIONS}.items():
        h.setOptionValue(key, value)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    feasible = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    value = h.getInfo().objective_function_value
    return seconds, value if feasible else float("inf"), h.getInfo().mip_node_count


def problems(workbook: Path) -> dict:
    inst = load_instance(workbook)
    base = solve(inst, tie_break=True)
    out = {"base": inst}
    out.update({f"force {pid}": forced(inst, pid) for pid in base.rejected_ids})
    out.update({f"budget {c:+.0%}": at_level(inst, 1 + c) for c in CHANGES if c})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workbook", type=Path, default=EXAMPLE)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    probs = problems(args.workbook)
    with tempfile.TemporaryDirectory(prefix="formulation-bench-") as tmp:
        return compare(probs, args.repeat, Path(tmp))


def compare(probs: dict, repeat: int, folder: Path) -> int:
    """Print one line per problem and the totals; 1 if an optimum differs, else 0."""
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'problem':26s} {'h rows s':>9s} {'nodes':>6s} {'x rows s':>9s} {'nodes':>6s}"
          f" {'optimum':>12s}")
    totals = {"h": [0.0, 0], "x": [0.0, 0]}
    bad = 0
    for i, (name, inst) in enumerate(probs.items()):
        gap = inst.settings.mip_gap
        runs: dict[str, list] = {"h": [], "x": []}
        for r in range(repeat):
            order = ("h", "x") if (i + r) % 2 == 0 else ("x", "h")
            for form in order:
                if form == "x":
                    with x_rows():
                        m = M.build_model(inst)
                else:
                    m = M.build_model(inst)
                runs[form].append(highs_run(m, gap, inst.settings.time_limit_s, folder))
        best = {f: min(v, key=lambda run: run[0]) for f, v in runs.items()}
        for f in totals:
            totals[f][0] += best[f][0]
            totals[f][1] += best[f][2]
        zh, zx = best["h"][1], best["x"][1]
        same = zh == zx or abs(zh - zx) <= 2 * gap * max(1.0, abs(zx))
        bad += not same
        print(f"{name:26s} {best['h'][0]:9.2f} {best['h'][2]:6d} {best['x'][0]:9.2f}"
              f" {best['x'][2]:6d} {zh:12.3f}{'' if same else f'  DIFFERS: x rows {zx:.3f}'}")
    print(f"{'total':26s} {totals['h'][0]:9.2f} {totals['h'][1]:6d} {totals['x'][0]:9.2f}"
          f" {totals['x'][1]:6d}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
