"""Hostile cases for the results folder: the tool replaces only what it wrote itself.

Points 1, 2, 3 (signals and clean-up) and 9 of the data-safety issue: ``--force`` never deletes a
user's file; two runs into one folder at once cannot both write it; SIGTERM and Ctrl-C leave
nothing half-written; new folders follow the user's umask.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from optimizer import outputs
from optimizer.interrupts import Terminated, signals_as_interrupts
from optimizer.outputs import (MANIFEST, DestinationBusy, DestinationExists, ForeignFiles,
                               WrittenThenInterrupted, check_destination, claim, write_run)
from optimizer.resolve import Parallel, run_parallel
from test_cli import run, small_workbook

SOLVE = ("--no-sensitivity", "--workers", "1")


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path, name: str) -> list[Path]:
    """Hidden folders or lock files a run of ``name`` left beside it."""
    return sorted(parent.glob(f".{name}.*"))


def _write(name: str, text: str = "x"):
    def writer(result, folder: Path) -> None:
        (folder / name).write_text(text)
    return writer


# --- Point 1: --force replaces only a folder of the tool's own results ------------------------

def test_force_never_deletes_the_input_or_a_users_documents(tmp_path):
    folder = tmp_path / "decision"
    folder.mkdir()
    wb = small_workbook(folder)
    (folder / "board paper.docx").write_bytes(b"the committee's own draft")
    before = digests(folder)
    r = run("solve", str(wb), "--out", str(folder), "--force", *SOLVE)
    assert r.returncode == 1, r.stderr
    assert "input workbook" in r.stderr and "Traceback" not in r.stderr
    assert digests(folder) == before
    assert not leftovers(tmp_path, "decision")


def test_force_refuses_a_folder_with_a_document_and_names_it(tmp_path):
    wb = small_workbook(tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    r = run("solve", str(wb), "--out", str(folder), "--force", *SOLVE)
    assert r.returncode == 1 and "notes.txt" in r.stderr and "--force does not" in r.stderr
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_run_records_every_file_it_wrote(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), *SOLVE).returncode == 0
    listed = json.loads((out / MANIFEST).read_text())["files"]
    on_disk = digests(out)
    del on_disk[MANIFEST]
    assert listed == on_disk
    assert {"results.json", "results.xlsx", "memo.html", "memo.docx", "memo.md"} <= set(listed)


def test_force_replaces_the_tools_own_earlier_run(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), *SOLVE).returncode == 0
    assert run("solve", str(wb), "--out", str(out), "--force", *SOLVE).returncode == 0
    assert not leftovers(tmp_path, "out")


@pytest.mark.parametrize("change", ["added", "edited", "subfolder"])
def test_force_refuses_a_run_folder_changed_since(tmp_path, change):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    assert run("solve", str(wb), "--out", str(out), *SOLVE).returncode == 0
    if change == "added":
        (out / "comments.md").write_text("reviewed by the CFO")
        named = "comments.md"
    elif change == "edited":
        (out / "memo.md").write_text("edited by hand")
        named = "memo.md (changed since"
    else:
        (out / "drafts").mkdir()
        named = "drafts/"
    before = digests(out)
    r = run("solve", str(wb), "--out", str(out), "--force", *SOLVE)
    assert r.returncode == 1 and named in r.stderr, r.stderr
    assert digests(out) == before


def test_a_version_1_folder_is_replaced_only_when_it_holds_version_1_names(tmp_path):
    v1 = tmp_path / "v1"
    v1.mkdir()
    for name in ("results.json", "results.xlsx", "memo.html", "memo.docx", "memo.md",
                 "chart_timeline.png", "chart_frontier.png"):
        (v1 / name).write_text("old")
    with pytest.raises(DestinationExists) as caught:
        check_destination(v1, force=False)
    assert not isinstance(caught.value, ForeignFiles)
    check_destination(v1, force=True)  # replaceable
    (v1 / "budget.xlsx").write_text("a user's file")
    with pytest.raises(ForeignFiles, match="budget.xlsx"):
        check_destination(v1, force=True)


def test_an_unreadable_manifest_protects_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("{not json")
    (out / "results.json").write_text("{}")
    with pytest.raises(ForeignFiles, match="unreadable"):
        check_destination(out, force=True)


def test_an_out_path_that_is_a_file_or_a_link_is_refused(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_text("keep")
    with pytest.raises(ForeignFiles, match="a file"):
        check_destination(target, force=True)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(ForeignFiles, match="a link"):
        check_destination(link, force=True)
    assert target.read_text() == "keep"


def test_write_run_checks_again_just_before_the_swap(tmp_path):
    """A file dropped into the destination while the run was writing is not deleted."""
    out = tmp_path / "out"
    out.mkdir()

    def intruder(result, folder: Path) -> None:
        (out / "dropped-in.txt").write_text("arrived during the run")

    with pytest.raises(ForeignFiles, match="dropped-in.txt"):
        write_run(None, out, [intruder, _write("results.json")], force=True)
    assert (out / "dropped-in.txt").is_file()
    assert not leftovers(tmp_path, "out")


# --- Point 2: two runs into one folder at once -------------------------------------------------

def test_a_claimed_destination_refuses_a_second_run(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with claim(out):
        with pytest.raises(DestinationBusy, match="another run"):
            with claim(out):
                pass
    assert not outputs.lock_path(out).exists()
    assert not (tmp_path / "a").exists(), "folders made for the claim are removed again"
    with claim(out):  # free again
        pass


def test_two_solves_started_at_once_into_one_new_folder(tmp_path):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "optimizer", "solve", str(wb), "--out", str(out), *SOLVE]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    codes, errors = [], []
    for p in procs:
        _, err = p.communicate(timeout=300)
        codes.append(p.returncode)
        errors.append(err)
    assert sorted(codes) == [0, 1], errors
    loser = errors[codes.index(1)]
    assert "another run" in loser or "earlier run" in loser, loser
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert set(listed) == set(digests(out)) - {MANIFEST}
    assert not leftovers(tmp_path, "out")


# --- Point 3: signals clean up -------------------------------------------------------------------

def _signal_self(signum: int):
    def writer(result, folder: Path) -> None:
        (folder / "results.json").write_text("{}")
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises before this ends
    return writer


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_leaves_nothing(tmp_path, signum):
    out = tmp_path / "new" / "out"
    with signals_as_interrupts(), pytest.raises(KeyboardInterrupt) as caught:
        with claim(out):
            write_run(None, out, [_signal_self(signum)])
    assert isinstance(caught.value, Terminated) == (signum == signal.SIGTERM)
    assert not (tmp_path / "new").exists(), list(tmp_path.rglob("*"))


def test_a_signal_while_writing_keeps_the_earlier_run(tmp_path):
    out = tmp_path / "out"
    write_run(None, out, [_write("results.json", "first")])
    with signals_as_interrupts(), pytest.raises(Terminated):
        write_run(None, out, [_signal_self(signal.SIGTERM)], force=True)
    assert (out / "results.json").read_text() == "first"
    assert not leftovers(tmp_path, "out")


def test_a_signal_during_the_swap_waits_until_the_folder_is_whole(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_run(None, out, [_write("results.json", "first")])
    swap = outputs._swap

    def slow_swap(tmp: Path, dest: Path) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # held back until the swap is done
        swap(tmp, dest)

    monkeypatch.setattr(outputs, "_swap", slow_swap)
    with signals_as_interrupts(), pytest.raises(WrittenThenInterrupted):
        write_run(None, out, [_write("results.json", "second")], force=True)
    assert (out / "results.json").read_text() == "second"
    assert not leftovers(tmp_path, "out")


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_an_interrupt_stops_the_worker_processes_at_once(tmp_path):
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_parallel(_sleep, [(60.0,), (60.0,), (60.0,)], Parallel(workers=2, progress=False))
    assert time.perf_counter() - t0 < 20, "waited for the workers' tasks to end"


# --- Point 9: the folder follows the user's umask ------------------------------------------------

@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644),
                                                           (0o027, 0o750, 0o640)])
def test_results_folder_follows_the_umask(tmp_path, umask, folder_mode, file_mode):
    wb = small_workbook(tmp_path)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(wb), "--out", str(out),
                        *SOLVE], capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: os.umask(umask))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_mode & 0o777 == folder_mode
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == file_mode, path.name


# --- The template command never replaces a workbook holding data --------------------------------

def test_template_force_replaces_only_an_unmodified_template(tmp_path):
    path = tmp_path / "t.xlsx"
    assert run("template", str(path)).returncode == 0
    assert run("template", str(path), "--force").returncode == 0  # a blank template: replaced
    decision = small_workbook(tmp_path)
    before = decision.read_bytes()
    r = run("template", str(decision), "--force")
    assert r.returncode == 1 and "not an unmodified template" in r.stderr, r.stderr
    assert decision.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("not a workbook")
    assert run("template", str(notes), "--force").returncode == 1
    assert notes.read_text() == "not a workbook"
