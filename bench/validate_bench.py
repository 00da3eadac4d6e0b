"""How long reading and validating a large, honest workbook takes.

Writes a workbook of 5,000 projects (10 minerals, a 30-year budget, capex profiles for every tenth
project, requires chains) into a temporary folder, then prints the seconds ``load_instance`` takes.
A print, not a timed test: the figure depends on the machine.

Run: ``.venv/bin/python bench/validate_bench.py [N_PROJECTS]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from optimizer import schema
from optimizer.validate import load_instance

FIRST_YEAR = 2026
HORIZON = 30
N_MINERALS = 10


def write_workbook(path: Path, n_projects: int) -> Path:
    """A valid workbook with ``n_projects`` projects.

    Written in openpyxl's normal mode, which, like Excel, puts the sheet's <dimension> first
    (openpyxl's read-only mode scans a whole sheet at open when that tag is missing).
    """
    book = Workbook()
    book.remove(book.active)
    settings = book.create_sheet(schema.SETTINGS.name)
    settings.append([schema.SETTING_COLUMN, schema.VALUE_COLUMN])
    for row in (("first_year", FIRST_YEAR), ("horizon_years", HORIZON), ("target_year", 2035)):
        settings.append(list(row))

    minerals = book.create_sheet(schema.MINERALS.name)
    minerals.append(list(schema.MINERALS.names))
    for m in range(N_MINERALS):
        minerals.append([f"mineral-{m}", 10_000 + 1_000 * m, 0.02, 0.6, 0.4, 1.0, 500.0])

    projects = book.create_sheet(schema.PROJECTS.name)
    projects.append(list(schema.PROJECTS.names))
    for i in range(n_projects):
        build = i % 5
        requires = f"P{i - 1:05d}" if i % 7 == 3 else None
        group = f"site-{i // 4}" if i % 3 == 0 else None
        kind = "plant" if i % 4 else "offtake"
        low = 10.0 + i % 90  # $M
        projects.append([
            f"P{i:05d}", f"Project {i}", kind, f"mineral-{i % N_MINERALS}", "United States",
            low, low + i % 30, build, FIRST_YEAR + i % 5, FIRST_YEAR + 5 + i % 5,
            100.0 + i % 1_000, None if i % 2 else 20, 5.0 - i % 11,
            requires, group, (i % 10) / 10, i % 500 == 0,
        ])

    budget = book.create_sheet(schema.BUDGET.name)
    budget.append(list(schema.BUDGET.names))
    for year in range(FIRST_YEAR, FIRST_YEAR + HORIZON):
        budget.append([year, 5_000.0])

    profile = book.create_sheet(schema.CAPEX_PROFILE.name)
    profile.append(list(schema.CAPEX_PROFILE.names))
    for i in range(0, n_projects, 10):
        build = i % 5
        if build >= 2:
            shares = [0.6] + [0.4 / (build - 1)] * (build - 1)
            for offset, share in enumerate(shares):
                profile.append([f"P{i:05d}", offset, share])

    book.save(path)
    return path


def main(n_projects: int = 5_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_workbook(Path(folder) / "bench.xlsx", n_projects)
        size_kb = path.stat().st_size / 1024
        start = time.perf_counter()
        instance = load_instance(path)
        seconds = time.perf_counter() - start
    print(f"validated {len(instance.projects):,} projects ({size_kb:,.0f} KB workbook) in "
          f"{seconds:.2f} s; {len(instance.warnings)} warnings")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
