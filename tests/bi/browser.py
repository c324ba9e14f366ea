"""Headless Chromium (Debian's `chromium` package) for report tests: DOM after layout, and screenshots."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--allow-file-access-from-files"]

# Appended to a copy of the report (the report itself has no scripts): the browser writes what it laid
# out for each chart into the DOM, so --dump-dom shows whether every chart was really drawn.
PROBE = """<script>
document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
  var box = svg.getBoundingClientRect(), painted = 0;
  svg.querySelectorAll('path, rect, line, polyline, use').forEach(function (el) {
    var b = el.getBoundingClientRect(); if (b.width > 0 || b.height > 0) painted++; });
  svg.setAttribute('data-probe', Math.round(box.width) + 'x' + Math.round(box.height) + ':' + painted);
});
document.body.setAttribute('data-probe-done', '1');
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise AssertionError("headless Chromium is needed: apt-get install -y chromium (see .ci/run)")
    return found


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


def dump_dom(html: Path, work: Path, width: int = 1366, height: int = 900) -> str:
    """The DOM after load and layout, with the chart probe's results."""
    probed = work / f"probe-{html.name}"
    probed.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    out = _run([f"--window-size={width},{height}", "--dump-dom", probed.as_uri()], work / "chromium-profile")
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def screenshot(html: Path, png: Path, width: int = 1366, height: int = 5000) -> Path:
    out = _run([f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()],
               png.parent / "chromium-profile")
    assert out.returncode == 0 and png.exists(), out.stderr[-2000:]
    return png
