"""The report file in a real headless browser (Chromium from the system packages;
.ci/run installs it): the page loads without errors and every chart is displayed."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from flows.pipeline import weekly_report
from flows.runs.parameters import WeeklyReportParameters
from flows.settings import Settings

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
# A check appended to a copy of the page: after load, the page states how many images
# there are and how many of them the browser could decode.
_PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const shown = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute("data-probe", `images=${images.length} shown=${shown}`);
});
</script>"""


@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install chromium; .ci/run does)"
)
@pytest.mark.usefixtures("prefect_server")
def test_report_page_renders_in_chromium(easter: Settings, tmp_path: Path) -> None:
    weekly_report(WeeklyReportParameters(week="2026-W14", today=date(2026, 4, 13), send=False))
    for name in ("filiale-koeln", "bank"):
        _check_page(easter.home_dir / "reports" / "2026-W14" / name, tmp_path / name)


def _check_page(folder: Path, tmp_path: Path) -> None:
    page = (folder / "index.html").read_text(encoding="utf-8")
    probe = folder / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
            "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    images = page.count("<img")
    assert images >= (1 if folder.name == "bank" else 2)
    if folder.name == "bank":  # the goals' trend and the branches ranked by business
        assert 'class="goals-trend"' in done.stdout
        assert 'class="business-by-branch"' in done.stdout
        assert "1.291,16 €" in done.stdout or "1.291,16&nbsp;€" in done.stdout
    assert f'data-probe="images={images} shown={images}"' in done.stdout
    assert "Failed to load resource" not in done.stderr
    assert "Uncaught" not in done.stderr
