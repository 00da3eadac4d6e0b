"""The README's sequence works as written: solve, then frontier, then simulate, into one folder."""

from __future__ import annotations

import json

from test_cli import run, small_workbook

FAST = ("--no-sensitivity", "--workers", "1")


def test_solve_then_frontier_then_simulate(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), "--simulate", "300", *FAST).returncode == 0
    r = run("frontier", str(wb), "--out", str(out), "--points", "3", *FAST)
    assert r.returncode == 0, r.stderr
    assert "Added the frontier to the earlier run" in r.stdout
    doc = json.loads((out / "results.json").read_text())
    assert doc["frontier"] and doc["simulation_summary"], "the earlier simulation is kept"
    assert run("simulate", str(out), "--draws", "200").returncode == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["frontier"] and doc["simulation_settings"][0]["value"] == 200


def test_frontier_still_refuses_a_folder_of_another_workbook(tmp_path):
    first = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(first), "--out", str(out), *FAST).returncode == 0
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = small_workbook(other_dir, capex=5)  # C differs: another workbook
    r = run("frontier", str(other), "--out", str(out), "--points", "3", *FAST)
    assert r.returncode == 1 and "--force" in r.stderr
