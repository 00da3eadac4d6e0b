"""The pipeline against HiGHS alone on the same matrix, and against version 1, at 50, 100 and
300 synthetic projects.

Each portfolio (seeded, so every run sees the same instances) spans 25 years with 10-year start
windows: 5 minerals, about 70% plants (capex 50..800 $M with a high estimate 10..60% above, build
2..5 years, positive NPV) and 30% offtakes (capex 0..30 $M, 0..1 year to start, 5..12-year terms,
NPV mostly negative), a security premium per mineral (objective ``weighted``), yearly budgets that
cover about a third of all capex with carry-over on, a few dependencies (a plant that needs an
earlier plant of the same mineral) and exclusive pairs (alternative sites).

For every size, three runs one after the other (never in parallel), each with the same time
limit, gap and one thread:

- ``HiGHS alone``: the model's matrix written to an MPS file and solved by highspy directly
  with its default options (read, solve; its plan is read back by column name and checked by
  the verifier);
- ``no search``: ``build_model`` then ``solve_model``, nothing during the solve (the path of
  version 1, with today's model);
- ``pipeline``: :func:`optimizer.solve.solve`, the command's own path (the local search of
  :mod:`optimizer.warmstart` improves HiGHS's plans during the solve).

Version 1's own figures (its model and path, measured on this machine: :data:`VERSION_1`) are
printed under each size's runs.

Each line: variables, rows, build seconds, solver seconds, wall seconds (build, load, solve and
check), the 1-minute load average before the run, status, gap, HiGHS's bound and the objective
of the verified plan ($M). A closing line per size compares the pipeline with HiGHS alone (objective
ratio, gaps) and says whether the matrix PuLP handed HiGHS equals the one in the MPS file (to
the file's 12 significant digits).
``--solvers cbc`` adds one CBC line per size (CBC has no search during the solve: its two
paths are the same).

Run: ``.venv/bin/python bench/synthetic_bench.py [--sizes 50 100 300] [--time-limit 60]
[--mip-gap 0.0001] [--repeat 1] [--solvers highs cbc]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import highspy
import numpy as np
import pulp

from optimizer.errors import InfeasibleError, SolverError, VerificationError
from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.instance import Instance, Mineral, Project, Settings
from optimizer.model import PortfolioModel, build_model
from optimizer.solve import solve, solve_model
from optimizer.solvers import stdout_to_devnull

FIRST, HORIZON, WINDOW, N_MINERALS = 2026, 25, 10, 5
SEED = 20250131
# Version 1 (commit 30bc388: start-year binaries, no search during the solve), measured with this
# bench on this 2-core machine under a load average of 6-9, 60 s, one thread: size -> (status,
# gap, bound, objective). Issue #12 recorded, also for version 1: at 300 projects the plan about
# 0.2% below HiGHS alone with a 1.6% gap; at 100 projects 0.6-0.8% gap after 60 s.
VERSION_1 = {
    50: ("optimal", 0.00009, 1872.95, 1872.77),
    100: ("feasible", 0.01308, 3858.07, 3808.28),
    300: ("feasible", 0.00325, 9282.33, 9252.23),
}


def synthetic_minerals(rng: np.random.Generator) -> dict[str, Mineral]:
    """Minerals with demand 1e3..1e5 t, China share 0.4..0.95 and a security premium."""
    return {
        f"M{i}": Mineral(
            f"M{i}", us_demand_t=float(rng.uniform(1e3, 1e5)),
            china_share=float(rng.uniform(0.4, 0.95)), demand_growth=float(rng.uniform(0, 0.04)),
            weight=float(rng.uniform(0.5, 2.0)),
            security_premium_usd_per_t=float(rng.uniform(200, 3000)),
        )
        for i in range(N_MINERALS)
    }


def synthetic_project(j: int, rng: np.random.Generator, minerals: dict[str, Mineral]) -> Project:
    """Project j: a plant (70%) or an offtake (30%) with a 10-year start window."""
    name = f"M{j % N_MINERALS}"
    demand = minerals[name].us_demand_t
    offtake = rng.random() < 0.3
    earliest = FIRST + int(rng.integers(0, HORIZON - WINDOW - 3))
    if offtake:
        low = float(rng.choice([0.0, rng.uniform(5, 30)]))
        high, build = low, int(rng.integers(0, 2))
        capacity = float(demand * rng.uniform(0.02, 0.10))
        npv, term = float(rng.uniform(-60, 10)), int(rng.integers(5, 13))
    else:
        low = float(rng.uniform(50, 800))
        high, build = low * float(rng.uniform(1.1, 1.6)), int(rng.integers(2, 6))
        capacity = float(demand * rng.uniform(0.03, 0.20))
        npv, term = float(low * rng.uniform(-0.1, 0.6)), None
    return Project(
        project_id=f"P{j:03d}", name=f"{'offtake' if offtake else 'plant'} {j}",
        kind="offtake" if offtake else "plant", mineral=name, country="synthetic",
        capex_low_musd=round(low, 3), capex_high_musd=round(high, 3), build_years=build,
        earliest_start=earliest, latest_start=earliest + WINDOW - 1, capacity_tpa=round(capacity),
        npv_musd=round(npv, 3), operating_years=term,
    )


def add_links(projects: list[Project], rng: np.random.Generator) -> list[Project]:
    """About 8% of plants require an earlier plant of the same mineral; about 15% of projects
    are paired with the next project of the same mineral as exclusive alternatives."""
    out = list(projects)
    plants = [i for i, p in enumerate(out) if p.kind == "plant"]
    for i in plants:
        earlier = [k for k in plants if k < i and out[k].mineral == out[i].mineral]
        if earlier and rng.random() < 0.08:
            out[i] = replace(out[i], requires=(out[int(rng.choice(earlier))].project_id,))
    for i in range(len(out) - N_MINERALS):
        k = i + N_MINERALS  # the next project of the same mineral
        if rng.random() < 0.08 and not out[i].exclusive_group and not out[k].exclusive_group:
            group = f"alt{i}"
            out[i] = replace(out[i], exclusive_group=group)
            out[k] = replace(out[k], exclusive_group=group)
    return out


def synthetic_instance(n_projects: int, seed: int = SEED) -> Instance:
    """The seeded portfolio of ``n_projects`` (see the module docstring)."""
    rng = np.random.default_rng(seed + n_projects)
    minerals = synthetic_minerals(rng)
    projects = add_links([synthetic_project(j, rng, minerals) for j in range(n_projects)], rng)
    mid_capex = sum(0.5 * (p.capex_low_musd + p.capex_high_musd) for p in projects)
    yearly = mid_capex / 3.0 / HORIZON  # about a third of all capex can be funded
    budget = {FIRST + t: round(yearly * float(rng.uniform(0.7, 1.3)), 1) for t in range(HORIZON)}
    settings = Settings(first_year=FIRST, horizon_years=HORIZON, discount_rate=0.08,
                        objective="weighted", capex_basis="mid", budget_carryover=True)
    return Instance(settings=settings, minerals=minerals,
                    projects={p.project_id: p for p in projects}, budget=budget,
                    name=f"synthetic_{n_projects}")


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One solve of one portfolio."""

    size: int
    label: str
    variables: int
    rows: int
    build_s: float | None  # None: not built here (HiGHS alone reads the MPS file)
    solve_s: float
    wall_s: float
    load: float  # 1-minute load average just before the run
    status: str
    gap: float | None  # fraction, as the solver reports it
    bound: float | None  # the solver's proven bound on the objective ($M)
    objective: float | None  # the verified plan's objective ($M)
    note: str = ""


def _load() -> float:
    return os.getloadavg()[0]


def highs_alone(instance: Instance, time_limit_s: float, mip_gap: float,
                mps: Path) -> tuple[Run, highspy.Highs]:
    """highspy on the MPS file of the model with HiGHS's defaults but the pipeline's time
    limit, relative gap (and an absolute gap of 0 when that is 0) and one thread; its plan,
    read back by column name, goes through the verifier like any plan."""
    m = build_model(instance)
    m.prob.writeMPS(str(mps), with_objsense=True)
    load = _load()
    t0 = time.perf_counter()
    with stdout_to_devnull():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(mps))
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if mip_gap == 0:
        h.setOptionValue("mip_abs_gap", 0.0)
    t1 = time.perf_counter()
    h.run()
    solve_s = time.perf_counter() - t1
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    status = {highspy.HighsModelStatus.kOptimal: "optimal",
              highspy.HighsModelStatus.kTimeLimit: "feasible" if has_plan else "no plan",
              highspy.HighsModelStatus.kInfeasible: "infeasible"}.get(h.getModelStatus(),
                                                                       "other")
    objective, note = None, ""
    if has_plan:
        value = dict(zip(h.getLp().col_names_, h.getSolution().col_value))
        starts = {pid: s for (pid, s), var in m.x.items() if value[var.name] > 0.5}
        ev = evaluate(instance, starts)
        problems = violations(instance, ev)
        objective = ev.objective_value(instance.settings.objective)
        note = f"REJECTED: {problems[0]}" if problems else ""
    wall = time.perf_counter() - t0
    return Run(len(instance.projects), "HiGHS alone", h.getNumCol(), h.getNumRow(), None,
               solve_s, wall, load, status, info.mip_gap if has_plan else None,
               info.mip_dual_bound if has_plan else None, objective, note), h


def pipeline(instance: Instance, label: str, solver: str, time_limit_s: float,
             mip_gap: float) -> tuple[Run, PortfolioModel | None]:
    """``no search``: build_model then solve_model with nothing during the solve; ``pipeline``:
    optimizer.solve.solve. Both verify the plan."""
    load = _load()
    t0 = time.perf_counter()
    m = None
    try:
        if label == "pipeline":
            result = solve(instance, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
        else:
            m = build_model(instance)
            build_s = time.perf_counter() - t0
            result = solve_model(m, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                                 build_seconds=build_s)
    except (InfeasibleError, SolverError, VerificationError) as exc:
        return Run(len(instance.projects), label, 0, 0, None, float("nan"),
                   time.perf_counter() - t0, load, type(exc).__name__, None, None, None,
                   str(exc)[:60]), m
    info = result.info
    return Run(len(instance.projects), label, info.n_variables, info.n_constraints,
               info.build_seconds, info.solve_seconds, time.perf_counter() - t0, load,
               info.status, info.mip_gap, info.best_bound, result.objective_value), m


def same_matrix(alone: highspy.Highs, m: PortfolioModel) -> bool:
    """Whether the model PuLP loaded into HiGHS (``m.prob.solverModel``) has the costs (up to
    the sign of the sense), bounds, integrality and matrix of the MPS file HiGHS alone read, to
    a relative 1e-9: the file prints 12 significant digits, so its numbers differ from the
    model's in the last ones (enough for HiGHS to take another path)."""
    a, b = alone.getLp(), m.prob.solverModel.getLp()
    if (a.num_col_, a.num_row_) != (b.num_col_, b.num_row_):
        return False
    if list(a.integrality_) != list(b.integrality_):
        return False
    sign_a = -1.0 if a.sense_ == highspy.ObjSense.kMaximize else 1.0
    sign_b = -1.0 if b.sense_ == highspy.ObjSense.kMaximize else 1.0
    pairs = [(sign_a * np.array(a.col_cost_), sign_b * np.array(b.col_cost_)),
             (_dense(alone), _dense(m.prob.solverModel))]
    pairs += [(np.array(getattr(a, f)), np.array(getattr(b, f)))
              for f in ("col_lower_", "col_upper_", "row_lower_", "row_upper_")]
    return all(np.allclose(x, y, rtol=1e-9, atol=1e-9) for x, y in pairs)


def _dense(h: highspy.Highs) -> np.ndarray:
    lp = h.getLp()
    out = np.zeros((lp.num_row_, lp.num_col_))
    a = lp.a_matrix_
    start, index, value = list(a.start_), list(a.index_), list(a.value_)
    rowwise = a.format_ == highspy.MatrixFormat.kRowwise
    outer = lp.num_row_ if rowwise else lp.num_col_
    for i in range(outer):
        for k in range(start[i], start[i + 1]):
            if rowwise:
                out[i, index[k]] = value[k]
            else:
                out[index[k], i] = value[k]
    return out


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None or value != value else format(value, fmt)


def format_run(r: Run) -> str:
    gap = "-" if r.gap is None else f"{100 * r.gap:.3f}%"
    return (f"{r.size:>8} {r.label:<12} {r.variables:>6} {r.rows:>6} "
            f"{_num(r.build_s, '8.2f'):>8} {_num(r.solve_s, '8.2f'):>8} {r.wall_s:>7.1f} "
            f"{r.load:>5.1f}  {r.status:<9} {gap:>8} {_num(r.bound, '12.2f'):>12} "
            f"{_num(r.objective, '12.2f'):>12}  {r.note}")


def compare(size: int, runs: list[Run], matrix: bool | None) -> list[str]:
    """The closing lines of one size: the pipeline against HiGHS alone and against no search
    (medians over the repeats), and version 1's recorded figures."""
    labels = ("HiGHS alone", "no search", "pipeline")

    def median(label: str, field: str) -> float | None:
        values = [getattr(r, field) for r in runs if r.label == label
                  and getattr(r, field) is not None]
        return statistics.median(values) if values else None
    alone, bare, ours = (median(k, "objective") for k in labels)
    gaps = " / ".join("-" if g is None else f"{100 * g:.3f}%"
                      for g in (median(k, "gap") for k in labels))
    line = f"{size:>8} pipeline / HiGHS alone: objective ratio "
    line += f"{ours / alone:.5f}" if alone and ours else "-"
    if bare and ours:
        line += f"; pipeline / no search {ours / bare:.5f}"
    line += f"; gap {gaps} (alone / no search / pipeline)"
    line += "; same matrix (rel. 1e-9): " + {True: "yes", False: "NO", None: "-"}[matrix]
    out = [line]
    if size in VERSION_1:
        status, gap, bound, objective = VERSION_1[size]
        ratio = f"; pipeline / version 1 {ours / objective:.5f}" if ours else ""
        out.append(f"{size:>8} version 1 (recorded): {status}, gap {100 * gap:.3f}%, bound "
                   f"{bound:.2f}, objective {objective:.2f}{ratio}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 300])
    parser.add_argument("--time-limit", type=float, default=60.0, dest="time_limit")
    parser.add_argument("--solvers", nargs="+", choices=("highs", "cbc"), default=["highs"])
    parser.add_argument("--mip-gap", type=float, default=0.0001, dest="mip_gap")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the three HiGHS runs this many times per size (medians in "
                             "the closing line)")
    args = parser.parse_args(argv)
    print(f"Synthetic portfolios: {HORIZON} years, {WINDOW}-year start windows, {N_MINERALS} "
          f"minerals, carry-over, objective weighted; mip_gap {args.mip_gap:g}, time limit "
          f"{args.time_limit:g} s, 1 thread, runs one after the other; seed {SEED}; "
          f"{platform.machine()}, {os.cpu_count()} cores, HiGHS {highspy.Highs().version()}, "
          f"PuLP {pulp.__version__}")
    print(f"{'projects':>8} {'run':<12} {'vars':>6} {'rows':>6} {'build s':>8} {'solve s':>8} "
          f"{'wall s':>7} {'load':>5}  {'status':<9} {'gap':>8} {'bound':>12} {'objective':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            instance = synthetic_instance(size)
            runs, matrix = [], None
            for _ in range(max(1, args.repeat) if "highs" in args.solvers else 0):
                run, alone = highs_alone(instance, args.time_limit, args.mip_gap,
                                         Path(tmp) / f"synthetic_{size}.mps")
                runs.append(run)
                print(format_run(run), flush=True)
                for label in ("no search", "pipeline"):
                    run, m = pipeline(instance, label, "highs", args.time_limit, args.mip_gap)
                    runs.append(run)
                    print(format_run(run), flush=True)
                    if m is not None and matrix is None:
                        matrix = same_matrix(alone, m)
            if runs:
                print("\n".join(compare(size, runs, matrix)), flush=True)
            if "cbc" in args.solvers:
                run, _ = pipeline(instance, "CBC", "cbc", args.time_limit, args.mip_gap)
                print(format_run(run), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
