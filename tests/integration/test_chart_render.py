"""A demo chart, as served, really renders: Plotly.js draws it in headless Chromium and the PNG is
not blank (this catches figures that are valid JSON but draw nothing)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import plotly
import pytest
from PIL import Image

from tests.conftest import IN_CI, Backend, make_settings, running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def render_png(figure: dict[str, object], out: Path) -> Image.Image:
    page = out.with_suffix(".html")
    page.write_text(
        "<html><body style='margin:0;background:#fff'><div id='c' style='width:800px;height:480px'></div>"
        f"<script>{PLOTLY_JS.read_text(encoding='utf-8')}</script>"
        f"<script>Plotly.newPlot('c', {json.dumps(figure)}.data, {json.dumps(figure)}.layout,"
        " {staticPlot: true});</script></body></html>",
        encoding="utf-8",
    )
    subprocess.run(
        [
            CHROMIUM or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={out.parent / 'profile'}",
            "--hide-scrollbars",
            "--window-size=800,480",
            "--virtual-time-budget=5000",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(out).convert("RGB")


@pytest.mark.slow
async def test_candlestick_chart_renders_to_a_non_blank_png(sqlite_backend: Backend, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is required under CI=true (installed by .ci/run)")
        pytest.skip("chromium is not installed")
    async with running(make_settings(sqlite_backend)) as client:
        figure = (await client.get("/sql/price_candles", params={"theme": "light"})).json()
    image = render_png(figure, tmp_path / "chart.png")
    assert image.size == (800, 480)
    colours = image.getcolors(maxcolors=1_000_000) or []
    painted = sum(count for count, colour in colours if colour != (255, 255, 255))
    assert painted > 800 * 480 // 50  # axes, grid, candles and volume bars cover a real share
    increasing, decreasing = (45, 164, 78), (207, 34, 46)  # the light theme's candle colours
    present = {colour for _, colour in colours}
    assert increasing in present
    assert decreasing in present
