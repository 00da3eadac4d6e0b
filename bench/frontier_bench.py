"""The frontier command end to end on the bundled example without its Scenarios sheet.

Run: .venv/bin/python bench/frontier_bench.py [--points 11] [--workers N] [--workbook PATH]

Copies the workbook into a temporary folder without its Scenarios sheet (openpyxl), then times
``python -m optimizer frontier COPY --points 11 --no-sensitivity --out TMP/out`` as a user runs
it (a new process: start-up, reading, the solve, the frontier, writing every report). Prints the
wall time, what the command said it runs, the frontier points and the wall time of each frontier
solve (both stages of a point, in its worker) as the command printed them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

EXAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "central_asia_refining.xlsx"


def copy_without_scenarios(source: Path, folder: Path) -> Path:
    """``source`` saved into ``folder`` without its Scenarios sheet (when it has one)."""
    book = openpyxl.load_workbook(source)
    if "Scenarios" in book.sheetnames:
        del book["Scenarios"]
    path = folder / f"{source.stem}_no_scenarios.xlsx"
    book.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", default=str(EXAMPLE))
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--workers", type=int, default=None,
                        help="passed to the command (default: the machine's cores)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="frontier_bench_") as tmp:
        copy = copy_without_scenarios(Path(args.workbook), Path(tmp))
        command = [sys.executable, "-m", "optimizer", "frontier", str(copy), "--points",
                   str(args.points), "--no-sensitivity", "--out", str(Path(tmp) / "out")]
        if args.workers is not None:
            command += ["--workers", str(args.workers)]
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            print(done.stdout, done.stderr, sep="\n")
            raise SystemExit(f"the command failed with exit status {done.returncode}")
    lines = done.stdout.splitlines()
    print(" ".join(["python -m optimizer", *command[3:]]).replace(tmp, "TMP"))
    print(f"wall time, end to end: {wall:.1f} s")
    keep = ("frontier runs", "Status:", "Frontier", "   ", "  1", "No frontier")
    for line in lines:
        if line.startswith(keep) or line.lstrip()[:3].rstrip(".").strip().isdigit():
            if line.startswith("Frontier solves"):
                head, _, solves = line.partition(": ")
                print(head + ":")
                for part in solves.split("; "):
                    print(f"  {part}")
            else:
                print(line)


if __name__ == "__main__":
    main()
