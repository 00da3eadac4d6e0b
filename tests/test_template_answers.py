"""The template answers what an analyst had to guess, and validate says a budget of 0 in its
closing line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl

from optimizer.template import write_template

DATA = Path(__file__).parent / "data"


def all_text(path: Path) -> str:
    book = openpyxl.load_workbook(path)
    parts = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    parts.append(cell.value)
                if cell.comment is not None:
                    parts.append(cell.comment.text)
    return " ".join(" ".join(parts).split())


def test_the_template_says_units_offtake_money_and_missing_budget_rows(tmp_path):
    text = all_text(write_template(tmp_path / "t.xlsx"))
    assert "carbonate equivalent" in text and "contained metal" in text
    assert "prepayment or investment the agreement needs" in text
    assert "premium paid over the market price" in text
    assert "A horizon year with no row has a budget of 0" in text


def test_validate_says_a_budget_of_zero_in_its_summary_line(tmp_path):
    path = tmp_path / "x.xlsx"
    shutil.copy(DATA / "good.xlsx", path)
    book = openpyxl.load_workbook(path)
    book["Budget"].delete_rows(book["Budget"].max_row)  # the last horizon year, 2040
    book.save(path)
    r = subprocess.run([sys.executable, "-m", "optimizer", "validate", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert "is valid, with 1 warning" in last and "2040" in last and "is 0" in last
