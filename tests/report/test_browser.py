"""The report in a real browser: headless Chromium renders index.html and every image loads."""

from __future__ import annotations

import pytest

from avsep.report import write_report
from avsep.report.browser import check_report, find_chromium

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium binary on PATH (apt-get install chromium); scripts: avsep report --check does the same check",
)


def test_every_image_loads_in_chromium_and_a_missing_one_is_caught(report_root, params):
    paths = write_report(params)
    result = check_report(paths.html)  # `avsep report --check --screenshot X.png` also saves a screenshot
    assert result.images == len(paths.images) == 8  # with the CAVL experiments chart
    assert result.broken == ()
    # the same page with one chart gone: the browser reports exactly that image
    (report_root / "reports" / "charts" / "bench-decode.png").unlink()
    assert check_report(paths.html).broken == ("charts/bench-decode.png",)
