"""memo.html in a real browser (headless Chromium): it renders, raises no errors, loads its
embedded charts, fits the page width on screen and at the A4 text width, and prints on A4.

The memo itself is never changed: the checks run on a copy to which the test adds a small script
that measures the layout and writes its verdict into the DOM, read back with ``--dump-dom``.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import make_result
from PIL import Image
from test_charts import large_result
from test_memo import ANALYSES

from optimizer.outputs import read_analyses
from optimizer.memo import write_memo

SKIP_MESSAGE = ("headless Chromium not found: install Debian's chromium package "
                "(apt-get install chromium) to run this test")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
A4_TEXT_WIDTH_PX = 672  # 210 mm less 2 x 15 mm margins, at 96 px per inch (672.76 px)
TIMEOUT_S = 120

RECORD_ERRORS = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message || (e.target && e.target.tagName) || e.type));
}, true);
</script>"""

MEASURE = """<script>
window.addEventListener("load", function () {
  var width = window.innerWidth, problems = [];
  var page = document.documentElement.scrollWidth;
  if (page > width) problems.push("page scrollWidth " + page + " > window " + width);
  document.querySelectorAll("table").forEach(function (t, i) {
    var r = t.getBoundingClientRect();
    if (r.right > width + 0.5) problems.push("table " + i + " right " + r.right + " > " + width);
    if (t.scrollWidth > t.clientWidth + 1) problems.push("table " + i + " overflows itself");
  });
  var images = document.querySelectorAll("img"), loaded = 0;
  images.forEach(function (img, i) {
    if (img.complete && img.naturalWidth > 0) loaded += 1;
    var r = img.getBoundingClientRect();
    if (r.right > width + 0.5) problems.push("image " + i + " right " + r.right + " > " + width);
  });
  var out = document.createElement("pre");
  out.id = "verdict";
  out.textContent = JSON.stringify({errors: window.__errors, problems: problems,
                                    tables: document.querySelectorAll("table").length,
                                    images: images.length, loaded: loaded, width: width});
  document.body.appendChild(out);
});
</script>"""


def chromium_path() -> str:
    for candidate in ("chromium", "/usr/bin/chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip(SKIP_MESSAGE)


def run_chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [chromium_path(), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False)


def with_checks(memo_html: Path, copy: Path) -> Path:
    """A copy of the memo with the error recorder first in <head> and the measurement last in
    <body>."""
    text = memo_html.read_text(encoding="utf-8")
    text = text.replace("<head>", "<head>" + RECORD_ERRORS, 1)
    text = text.replace("</body>", MEASURE + "</body>", 1)
    copy.write_text(text, encoding="utf-8")
    return copy


def verdict(memo_html: Path, tmp_path: Path, width: int) -> dict:
    checked = with_checks(memo_html, tmp_path / f"checked-{width}.html")
    done = run_chromium([f"--window-size={width},1754", "--virtual-time-budget=10000",
                         "--dump-dom", checked.as_uri()], tmp_path)
    match = re.search(r'<pre id="verdict">(.*?)</pre>', done.stdout, flags=re.S)
    assert match, f"no verdict in the dumped DOM; chromium said: {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module", params=["example", "40 projects"])
def memo_html(request, tmp_path_factory) -> Path:
    if request.param == "example":
        result = dataclasses.replace(make_result(), analyses=read_analyses(ANALYSES))
    else:
        result = large_result(40)
    folder = tmp_path_factory.mktemp("browser")
    return write_memo(result, folder)["html"]


def test_screenshot_is_not_blank(memo_html, tmp_path):
    shot = tmp_path / "memo.png"
    done = run_chromium([f"--screenshot={shot}", "--window-size=1240,1754",
                         "--hide-scrollbars", memo_html.as_uri()], tmp_path)
    assert shot.exists(), f"no screenshot; chromium said: {done.stderr[-2000:]}"
    assert shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        assert image.size == (1240, 1754)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is None or len(colours) > 50, "the page looks blank"


@pytest.mark.parametrize("width", [1240, A4_TEXT_WIDTH_PX], ids=["screen", "A4 text width"])
def test_no_errors_and_nothing_wider_than_the_page(memo_html, tmp_path, width):
    found = verdict(memo_html, tmp_path, width)
    assert found["errors"] == []
    assert found["problems"] == []
    assert found["tables"] >= 5  # portfolio, spend, China reliance, why-not, run facts (and more)
    assert found["images"] == found["loaded"] >= 2


def test_prints_on_a4(memo_html, tmp_path):
    pdf = tmp_path / "memo.pdf"
    done = run_chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                         memo_html.as_uri()], tmp_path)
    assert pdf.exists(), f"no PDF; chromium said: {done.stderr[-2000:]}"
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes, "no page in the PDF"
    for width, height in boxes:  # A4 is 595.3 x 841.9 points
        assert float(width) == pytest.approx(595.3, abs=2)
        assert float(height) == pytest.approx(841.9, abs=2)
