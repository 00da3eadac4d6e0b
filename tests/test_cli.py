"""The command line end to end: exit statuses, nothing written on failure, earlier runs kept."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from optimizer.template import write_workbook
from test_model_hand import instance, project

DATA = Path(__file__).parent / "data"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def small_workbook(tmp_path: Path, **kw) -> Path:
    """Three projects, one of each kind of choice; solves in well under a second."""
    inst = instance([project("A", capex=50, build=1, start=(2026, 2027), npv=100),
                     project("B", capex=50, build=1, start=(2026, 2027), npv=80),
                     project("C", npv=-5, **kw)], budget=50, discount_rate=0.10)
    path = tmp_path / "small.xlsx"
    write_workbook(inst, path)
    return path


def test_solve_writes_every_output_and_keeps_the_input(tmp_path):
    wb = small_workbook(tmp_path)
    digest = hashlib.sha256(wb.read_bytes()).hexdigest()
    out = tmp_path / "out"
    r = run("solve", str(wb), "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "proven optimal" in r.stdout
    for name in ("results.json", "results.xlsx", "memo.html", "memo.docx", "memo.md"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "results.json").read_text())
    for key in ("status", "objective", "objective_value", "npv_musd", "mip_gap", "solver",
                "solve_seconds", "funded", "spend_by_year", "china_share", "input_sha256"):
        assert key in doc, key
    assert doc["input_sha256"] == digest == hashlib.sha256(wb.read_bytes()).hexdigest()
    assert {f["project_id"]: f["start_year"] for f in doc["funded"]} == {"A": 2026, "B": 2027}
    assert not list(tmp_path.glob(".out.*")), "temporary folders left behind"


def test_an_earlier_run_is_kept_without_force(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), "--no-sensitivity").returncode == 0
    before = (out / "results.json").read_bytes()
    r = run("solve", str(wb), "--out", str(out), "--no-sensitivity")
    assert r.returncode == 1 and "--force" in r.stderr
    assert (out / "results.json").read_bytes() == before
    r = run("solve", str(wb), "--out", str(out), "--no-sensitivity", "--force")
    assert r.returncode == 0


def test_invalid_workbook_exits_2_names_the_cell_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.xlsx"
    shutil.copy(DATA / "good.xlsx", bad)
    wb = openpyxl.load_workbook(bad)
    wb["Projects"]["F3"] = "lots"
    wb.save(bad)
    out = tmp_path / "out"
    r = run("solve", str(bad), "--out", str(out))
    assert r.returncode == 2
    assert "Projects!F3" in r.stderr and "lots" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert run("validate", str(bad)).returncode == 2


def test_not_an_xlsx_exits_2_without_traceback(tmp_path):
    fake = tmp_path / "data.xlsx"
    fake.write_text("a,b\n1,2\n")
    r = run("validate", str(fake))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "xlsx" in r.stderr.lower()


def test_infeasible_workbook_exits_3_and_names_the_conflict(tmp_path):
    wb = small_workbook(tmp_path, must_fund=True, capex=500, build=1)
    out = tmp_path / "out"
    r = run("solve", str(wb), "--out", str(out))
    assert r.returncode == 3, r.stderr
    assert "must-fund" in r.stderr and "budget" in r.stderr and "C" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_validate_prints_a_summary(tmp_path):
    r = run("validate", str(DATA / "good.xlsx"))
    assert r.returncode == 0 and "valid" in r.stdout


def test_template_command_writes_a_workbook_and_keeps_an_existing_one(tmp_path):
    path = tmp_path / "t.xlsx"
    assert run("template", str(path)).returncode == 0
    assert path.is_file()
    assert run("template", str(path)).returncode == 1


def test_simulate_and_frontier_commands(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    r = run("frontier", str(wb), "--out", str(out), "--points", "3", "--no-sensitivity",
            "--alternatives", "1", "--ladder", "--workers", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["frontier"] and doc["budget_ladder"]
    r = run("simulate", str(out), "--draws", "500")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["simulation_summary"] and doc["frontier"], "simulate keeps earlier analyses"
    assert (out / "memo.html").is_file()


def test_simulate_refuses_a_changed_workbook(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), "--no-sensitivity").returncode == 0
    book = openpyxl.load_workbook(wb)
    book["Projects"]["M2"] = 99  # change an NPV
    book.save(wb)
    r = run("simulate", str(out), "--draws", "100")
    assert r.returncode == 1 and "changed" in r.stderr


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solver_option(tmp_path, solver):
    wb = small_workbook(tmp_path)
    r = run("solve", str(wb), "--out", str(tmp_path / solver), "--no-sensitivity",
            "--solver", solver)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / solver / "results.json").read_text())
    assert doc["solver"].lower().startswith(solver[:3])
