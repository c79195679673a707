"""``avsep world --preview N`` writes a contact sheet PNG."""

from __future__ import annotations

from PIL import Image

from avsep.cli import main


def test_preview_png(tmp_path):
    args = [
        "world",
        "--out",
        str(tmp_path),
        "--preview",
        "2",
        "--set",
        "world.width=64",
        "--set",
        "world.height=64",
        "--set",
        "world.duration_s=1.0",
        "--set",
        "world.fps=8",
    ]
    assert main(args) == 0
    image = Image.open(tmp_path / "preview.png")
    assert image.format == "PNG" and image.width > 300 and image.height > 300
    assert not list(tmp_path.glob("videos"))  # a preview renders in memory only
