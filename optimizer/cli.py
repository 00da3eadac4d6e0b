"""Command line: ``python -m optimizer validate|template|solve ...`` (also ``mineral-optimizer``).

Exit status: 0 solved (or valid), 2 invalid input (every problem listed, nothing written),
3 no plan satisfies the constraints (with the reason), 1 anything else. No tracebacks for users.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import __version__
from .cluster import CONNECT_TIMEOUT_S
from .errors import InfeasibleError, InputError, SolverError, VerificationError
from .interrupts import Terminated, signals_as_interrupts
from .outputs import DestinationExists, WrittenThenInterrupted

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m optimizer",
        description="Chooses which critical-mineral plants and offtake agreements to fund, and "
                    "when, to cut China reliance under yearly and total budgets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a workbook and print its summary")
    p.add_argument("workbook")

    p = sub.add_parser("evaluate", help="score the committee's proposal (Projects column "
                       "proposed_start) without optimizing")
    p.add_argument("workbook")
    p.add_argument("--draws", type=int, default=2_000,
                   help="draws for the chance of meeting the targets (default 2,000; 0: skip)")

    p = sub.add_parser("template", help="write a blank, annotated input workbook")
    p.add_argument("path")
    p.add_argument("--force", action="store_true", help="replace an existing file")

    p = sub.add_parser("solve", parents=[_solve_options()],
                       help="solve a workbook and write results and the memo")
    p.add_argument("--frontier", type=int, default=0, metavar="N",
                   help="also trace the NPV / security frontier with N points, and the "
                        "budget ladder")
    p.add_argument("--futures", type=_count, default=0, metavar="N",
                   help="also re-optimize the plan in N sampled futures (capex, delays, losses)")

    p = sub.add_parser("frontier", parents=[_solve_options()],
                       help="solve, then trace the NPV / security frontier only (added to an "
                            "earlier run of the workbook, whose other analyses are kept)",
                       description="Solves the workbook, then traces the NPV / security frontier "
                                   "in the objective's terms. Nothing else runs unless asked: "
                                   "--ladder adds the budget ladder, --alternatives and "
                                   "--simulate their analyses; `solve` runs every analysis.")
    p.add_argument("--points", type=int, default=11, help="frontier points (default 11)")
    p.add_argument("--ladder", action="store_true",
                   help="also the budget ladder (the objective under 6 caps on total capital)")

    p = sub.add_parser("futures", parents=[_solve_options()],
                       help="solve, then re-optimize the plan in sampled futures only (added to "
                            "an earlier run of the workbook, whose other analyses are kept)")
    p.add_argument("--draws", type=_count, default=200,
                   help="futures to sample (default 200; the standard error of a share is at "
                        "most 0.5/sqrt(N))")

    p = sub.add_parser("simulate", help="Monte Carlo risk of the portfolio in a results folder")
    p.add_argument("folder", help="a folder written by solve (holds results.json)")
    p.add_argument("--draws", type=int, default=10_000, help="number of draws (default 10,000)")
    p.add_argument("--workbook", help="the input workbook, if it has moved since the solve")
    return parser


def _solve_options() -> argparse.ArgumentParser:
    """Options the frontier command shares with solve."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("workbook")
    p.add_argument("--out", help="output folder (default reports/<workbook name>/)")
    p.add_argument("--force", action="store_true", help="replace an earlier run in the folder")
    p.add_argument("--solver", choices=("highs", "cbc"), help="override the Settings solver")
    p.add_argument("--time-limit", type=float, dest="time_limit", help="seconds, overrides Settings")
    p.add_argument("--mip-gap", type=float, dest="mip_gap", help="fraction, overrides Settings")
    p.add_argument("--timings", action="store_true",
                   help="print the seconds of each phase (solve, each analysis, each file)")
    p.add_argument("--no-warm-start", action="store_false", dest="warm_start",
                   help="start every re-solve from nothing instead of the base plan (the "
                        "answers are the same within the gap; for comparison)")
    p.add_argument("--no-sensitivity", action="store_true",
                   help="skip the re-solves behind why-not and budget sensitivity (batch use)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel re-solves (default: the machine's cores)")
    p.add_argument("--simulate", type=int, default=0, metavar="N",
                   help="Monte Carlo draws of capex and build delays for the chosen portfolio")
    p.add_argument("--alternatives", type=int, default=0, metavar="K",
                   help="find up to K near-optimal alternative portfolios")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", type=_scheduler_address,
                   help="run the re-solves on this Dask scheduler's workers instead of this "
                        "machine's cores (docs/cluster.md)")
    p.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT_S,
                   dest="connect_timeout", metavar="S",
                   help=f"seconds to reach the scheduler (default {CONNECT_TIMEOUT_S:g})")
    return p


def _scheduler_address(text: str) -> str:
    """A Dask scheduler address, SCHEME://HOST:PORT (argparse type)."""
    from .cluster import ClusterError, check_address

    try:
        return check_address(text)
    except ClusterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    """A whole number >= 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with signals_as_interrupts():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "template":
            return cmd_template(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command in ("solve", "frontier", "futures"):
            return cmd_solve(args)
        if args.command == "simulate":
            return cmd_simulate(args)
    except InputError as exc:
        print(exc.report(), file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return EXIT_INPUT
    except InfeasibleError as exc:
        print(str(exc), file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return EXIT_INFEASIBLE
    except VerificationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("This is a bug in the optimizer; nothing was written.", file=sys.stderr)
        return EXIT_ERROR
    except (SolverError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except WrittenThenInterrupted as exc:
        print(f"interrupted just after the results were complete; {exc.folder} is whole.",
              file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"{what}; nothing was written.", file=sys.stderr)
        return EXIT_ERROR
    except DestinationExists as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # last resort: a clear line, not a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR


def cmd_validate(args: argparse.Namespace) -> int:
    from .summary import instance_summary
    from .validate import load_instance

    instance = load_instance(args.workbook)
    for w in instance.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(instance_summary(instance))
    print(valid_line(args.workbook, instance.warnings))
    return EXIT_OK


def valid_line(workbook: str, warnings: tuple[str, ...]) -> str:
    """The closing line of ``validate``; a missing budget row (a budget of 0) is said in it."""
    if not warnings:
        return f"{workbook} is valid."
    budget = [w.split(": ", 1)[-1] for w in warnings if "no Budget row" in w]
    line = f"{workbook} is valid, with {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
    if budget:
        line += f"; note {budget[0].rstrip('.')}"
    return line + "."


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the proposal; exit 0 when it could be scored, whatever it found."""
    from .analyses.proposal import proposed_starts, report_lines, score
    from .tables import objective_unit
    from .validate import load_instance

    instance = load_instance(args.workbook)
    for w in instance.warnings:
        print(f"warning: {w}", file=sys.stderr)
    starts = proposed_starts(instance)
    if not starts:
        print("error: no project has a proposed_start (Projects column proposed_start): there "
              "is no proposal to evaluate. Fill in the start year of each project the "
              "committee proposes.", file=sys.stderr)
        return EXIT_ERROR
    proposal = score(instance, starts, max(0, args.draws))
    print("\n".join(report_lines(proposal, objective_unit(instance.settings.objective))))
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from .template import is_unmodified_template, write_template

    path = Path(args.path)
    if path.exists() or path.is_symlink():
        if not args.force:
            print(f"error: {path} exists; it is kept. Use --force to replace it.",
                  file=sys.stderr)
            return EXIT_ERROR
        if path.is_symlink() or not path.is_file() or not is_unmodified_template(path):
            print(f"error: {path} is not an unmodified template (it may hold a decision's "
                  "data); it is kept, and --force does not change that. Choose another path.",
                  file=sys.stderr)
            return EXIT_ERROR
    write_template(path)
    print(f"wrote {path}")
    return EXIT_OK


def cmd_solve(args: argparse.Namespace) -> int:
    """Solve (and analyse) on this machine's cores or, with --scheduler, on a Dask cluster,
    connected before anything is written."""
    from .cluster import executor_for

    with executor_for(args.scheduler, args.connect_timeout) as executor:
        return _cmd_solve(args, executor)


def _cmd_solve(args: argparse.Namespace, executor=None) -> int:
    started = time.perf_counter()
    from .outputs import (check_destination, claim, default_out_dir, earlier_run_of,
                          read_analyses)
    from .phases import Timings
    from .pipeline import run_solve
    from .resolve import Parallel, SolveOptions
    from .summary import result_summary
    from .validate import load_instance

    out_dir = Path(args.out) if args.out else default_out_dir(args.workbook)
    protect = (args.workbook,)
    earlier = None
    if args.command in ("frontier", "futures") and not args.force:  # add to the earlier run
        earlier = earlier_run_of(out_dir, args.workbook)
    force = args.force or earlier is not None
    check_destination(out_dir, force, protect)  # refused before anything is made
    with claim(out_dir):
        check_destination(out_dir, force, protect)  # a run may have finished meanwhile
        instance = load_instance(args.workbook)
        for w in instance.warnings:
            print(f"warning: {w}", file=sys.stderr)
        frontier_only = args.command == "frontier"
        points = args.points if frontier_only else getattr(args, "frontier", 0)
        options = SolveOptions(solver=args.solver, time_limit_s=args.time_limit,
                               mip_gap=args.mip_gap, warm_start=args.warm_start)
        timings = Timings()
        if frontier_only:
            print(frontier_plan_line(args, instance.settings.objective), flush=True)
        result, written = run_solve(
            instance, out_dir, options, Parallel(workers=args.workers, executor=executor),
            force=force, sensitivity=not args.no_sensitivity, frontier_points=points,
            alternatives=args.alternatives, simulate_draws=args.simulate, protect=protect,
            futures_draws=args.draws if args.command == "futures" else getattr(args, "futures", 0),
            carry=read_analyses(earlier) if earlier is not None else None,
            ladder=getattr(args, "ladder", True),
            requested_only=args.command in ("frontier", "futures"),
            timings=timings)
    if earlier is not None:
        print(f"Added the {args.command} to the earlier run of {args.workbook} in {out_dir}/ "
              "(its other analyses are kept).")
    print(result_summary(result))
    if args.command == "frontier" and result.analyses.frontier is not None:
        print("\n".join(result.analyses.frontier.summary_lines()))
    if result.analyses.futures is not None:
        from .analyses.futures import summary_lines

        print("\n".join(summary_lines(result.analyses.futures)))
    print(f"\nWrote {written}/")
    memo = written / "memo.html"
    if memo.exists():
        print(f"Decision memo: {memo}")
    if args.timings:
        print("\nSeconds by phase:")
        print("\n".join(timings.lines(time.perf_counter() - started)))
    return EXIT_OK


def frontier_plan_line(args: argparse.Namespace, objective: str) -> str:
    """What the frontier command runs, and how to add or skip the rest."""
    from .analyses.frontier import measure_for

    runs = ["the solve", f"the frontier ({max(2, args.points)} points: NPV against "
                         f"{measure_for(objective).label})"]
    runs += ["the budget ladder"] * bool(args.ladder)
    runs += [f"{args.alternatives} alternatives"] * bool(args.alternatives)
    runs += [f"a {args.simulate:,}-draw simulation"] * bool(args.simulate)
    skipped = "" if args.ladder else "; --ladder adds the budget ladder"
    return (f"frontier runs {', '.join(runs[:-1])} and {runs[-1]} only{skipped}; the other "
            "analyses (why-not, sensitivity, scenarios, stress) are kept from an earlier run of "
            "this workbook in the folder, or run by `solve`.")


def cmd_simulate(args: argparse.Namespace) -> int:
    """Add a Monte Carlo simulation to an existing results folder and rewrite its reports."""
    from .outputs import check_destination, claim, load_result, write_run
    from .pipeline import simulation_tables, writers

    folder = Path(args.folder)
    with claim(folder):
        check_destination(folder, force=True)  # refuses a folder holding anything not ours
        result = load_result(folder, workbook=args.workbook)
        protect = (result.instance.source_path,) if result.instance.source_path else ()
        sim = simulation_tables(result, args.draws)
        from .analyses.reach import what_raises_the_chance  # the same draws as the simulation

        result = replace(result, analyses=replace(
            result.analyses, simulation=sim, reach=what_raises_the_chance(result, args.draws)))
        write_run(result, folder, writers(), force=True, protect=protect)
    rows = sim.by_key.get("simulation_summary", [])
    for row in rows:
        print(f"{row['measure']}: P10 {row['p10']:,.1f}  P50 {row['p50']:,.1f}  "
              f"P90 {row['p90']:,.1f}")
    print(f"Rewrote {folder}/ with the simulation ({args.draws:,} draws).")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
