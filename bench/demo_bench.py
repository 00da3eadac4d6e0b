"""Time the example's full run as ``make demo`` does it, phase by phase, against version 1.

Runs ``python -m optimizer solve inputs/central_asia_refining.xlsx --force --simulate 10000
--alternatives 3 --timings`` (the ``make demo`` command plus ``--timings``) into a temporary
folder, and prints its wall time, the CPU seconds of the run and its worker processes, and the
seconds of each phase (the base solve, each analysis, each file written; analyses that run at the
same time are marked and overlap).

Beside it: the version 1 figures (:data:`V1_RECORDED`, measured with the code of commit
:data:`V1_COMMIT`, before warm starts, the started-by formulation and the analyses at the same
time), or with ``--measure-v1`` that code measured again now, on the same machine, from
``git archive V1_COMMIT`` in a temporary folder. With ``--measure-v1`` the two runs' answers are
compared too: the objective of the base plan, of every scenario, budget step and alternative,
and every why-not loss, within twice the workbook's gap (``mip_gap``), the funded projects of the
base plan exactly. A print, not a test; the figures depend on the machine and its load (the
load average is printed).

    .venv/bin/python bench/demo_bench.py [--measure-v1] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKBOOK = "inputs/central_asia_refining.xlsx"
DEMO_ARGS = ["--force", "--simulate", "10000", "--alternatives", "3"]
V1_COMMIT = "30bc388"  # the last commit before the speed-ups of issue 12
# Version 1 measured here with --measure-v1 (2 cores shared with other jobs), same command:
V1_RECORDED = {"wall_s": 191.3, "cpu_s": 201.3,
               "note": "2 shared cores, load average 0.6 at the start, 3.2 at the end"}


def run_demo(python: str, cwd: Path, out: Path, extra: list[str], env: dict) -> dict:
    """One run of the demo command; its wall and CPU seconds, output and phase lines."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([python, "-m", "optimizer", "solve", WORKBOOK, "--out", str(out),
                           *DEMO_ARGS, *extra], cwd=cwd, env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"the demo command failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": cpu, "phases": phases(proc.stdout),
            "results": json.loads((out / "results.json").read_text(encoding="utf-8"))}


def phases(stdout: str) -> list[tuple[str, float, bool]]:
    """The (phase, seconds, overlapped) lines after "Seconds by phase:"."""
    if "Seconds by phase:" not in stdout:
        return []
    out = []
    for line in stdout.split("Seconds by phase:", 1)[1].splitlines():
        m = re.match(r"^(.*?)\s+(\d+\.\d+)( \*)?$", line)
        if m:
            out.append((m.group(1).strip(), float(m.group(2)), bool(m.group(3))))
    return out


def v1_tree(tmp: Path) -> Path:
    """The code of V1_COMMIT, unpacked from ``git archive`` (the checkout is not touched)."""
    tree = tmp / "v1"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", V1_COMMIT], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def compare(new: dict, old: dict) -> list[str]:
    """Differences between two runs' answers beyond twice the gap (empty: the same)."""
    gap = float(new["settings"].get("mip_gap") or 1e-4)
    problems = []

    def close(a, b, what: str) -> None:
        if a is None or b is None:
            if (a is None) != (b is None):
                problems.append(f"{what}: {a} against {b}")
            return
        if not math.isclose(a, b, rel_tol=2 * gap, abs_tol=1e-6):
            problems.append(f"{what}: {a:,.4f} against {b:,.4f}")

    close(new["objective_value"], old["objective_value"], "base objective")
    if sorted(f["project_id"] for f in new["funded"]) != sorted(
            f["project_id"] for f in old["funded"]):
        problems.append("the base plan funds other projects")
    for key, label in (("scenarios", "scenario"), ("sensitivity", "budget_change")):
        old_rows = {str(r[label]): r for r in old.get(key) or []}
        for row in new.get(key) or []:
            other = old_rows.get(str(row[label]))
            if other is None:
                problems.append(f"{key} {row[label]}: missing in version 1")
            else:
                close(row["objective_value"], other["objective_value"], f"{key} {row[label]}")
    for i, (a, b) in enumerate(zip(new.get("alternatives") or [], old.get("alternatives") or [])):
        close(a["objective_value"], b["objective_value"], f"alternative {i + 1}")
    if len(new.get("alternatives") or []) != len(old.get("alternatives") or []):
        problems.append("a different number of alternatives")
    base = abs(new["objective_value"])
    for pid, reason in (new.get("why_not") or {}).items():
        other = (old.get("why_not") or {}).get(pid, {})
        a, b = reason.get("objective_loss"), other.get("objective_loss")
        if (a is None) != (b is None) or (a is not None and abs(a - b) > 2 * gap * base + 1e-6):
            problems.append(f"why-not {pid}: loss {a} against {b}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure-v1", action="store_true",
                        help=f"also run the code of {V1_COMMIT} now and compare the answers")
    parser.add_argument("--workers", type=int, default=None, help="passed to the command")
    parser.add_argument("--keep", help="copy the new run's results folder here")
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    extra = ["--timings"] + (["--workers", str(args.workers)] if args.workers else [])
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="demo_bench_") as tmp:
        tmp_path = Path(tmp)
        env = dict(os.environ)
        new = run_demo(python, ROOT, tmp_path / "new", extra, env)
        if args.keep:
            shutil.copytree(tmp_path / "new", args.keep, dirs_exist_ok=True)
        old = None
        if args.measure_v1:
            tree = v1_tree(tmp_path)
            shutil.copytree(ROOT / "inputs", tree / "inputs", dirs_exist_ok=True)
            v1_env = dict(env, PYTHONPATH=str(tree))
            v1_extra = ["--workers", str(args.workers)] if args.workers else []
            old = run_demo(python, tree, tmp_path / "v1out", v1_extra, v1_env)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} at the end (figures taken under load are slower)\n")
    v1 = old if old is not None else V1_RECORDED
    v1_note = f"measured now, commit {V1_COMMIT}" if old is not None else (
        f"recorded, commit {V1_COMMIT}: {V1_RECORDED['note']}")
    print(f"{'':<28}{'now':>10}{'version 1':>12}")
    print(f"{'wall seconds':<28}{new['wall_s']:>10.1f}{v1['wall_s']:>12.1f}")
    print(f"{'CPU seconds (all processes)':<28}{new['cpu_s']:>10.1f}{v1['cpu_s']:>12.1f}")
    print(f"(version 1: {v1_note})\n")
    print("Seconds by phase (now; * ran at the same time as others, so they overlap):")
    for name, seconds, overlapped in new["phases"]:
        print(f"  {name:<30}{seconds:>8.2f}{' *' if overlapped else ''}")
    if old is not None:
        problems = compare(new["results"], old["results"])
        print("\nAnswers against version 1: " + ("the same within the gap" if not problems
                                                 else "DIFFERENT:\n  " + "\n  ".join(problems)))


if __name__ == "__main__":
    main()
