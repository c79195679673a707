"""A contact sheet of a few clips: frames with their boxes (green sounding, red silent) over the log-mel.

With realism effects on, the sheet's title lists the active knobs and each clip's log-mel title its room, SNR
and off-screen instrument; with every effect off the sheet is the one it always was.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from avsep.config.world import WorldParams
from avsep.io import save_png
from avsep.world.render import ClipRender, render_clip
from avsep.world.scene import ClipSpec, clip_specs

FRAMES_PER_ROW = 4
N_MELS = 64
SOUNDING, SILENT = "#00e000", "#ff2020"


def preview_specs(world: WorldParams, n: int) -> list[ClipSpec]:
    """``n`` clips of the world, cycling over scene types (solo, duet, k1..k4) so the sheet shows each kind."""
    by_scene: dict[str, list[ClipSpec]] = {}
    for spec in clip_specs(world):
        by_scene.setdefault(spec.scene, []).append(spec)
    picked: list[ClipSpec] = []
    depth = 0
    while len(picked) < n and any(depth < len(v) for v in by_scene.values()):
        picked += [specs[depth] for specs in by_scene.values() if depth < len(specs)]
        depth += 1
    return picked[:n]


def _logmel(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(F, T) log-mel in dB of the mono mix of ``audio`` (2, N)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=audio.mean(0), sr=sample_rate, n_mels=N_MELS)
    return librosa.power_to_db(mel, ref=np.max)


def effects_title(world: WorldParams) -> str | None:
    """The sheet's title naming the realism preset and its active knobs, or None when every effect is off."""
    active = world.effects_active().active()
    if not active:
        return None
    knobs = ", ".join(f"{name}={list(v) if isinstance(v, tuple) else v}" for name, v in active.items())
    return textwrap.fill(f"realism: {world.realism} ({knobs})", 110)


def clip_effects(annotation: dict) -> str:
    """What the realism effects did to one clip (room, SNR, off-screen instrument), or '' without effects."""
    realism = annotation.get("realism")
    if realism is None:
        return ""
    parts = []
    if realism["room"]:
        parts.append(f"room RT60 {realism['room']['rt60_s']:.2f} s DRR {realism['room']['drr_db']:.1f} dB")
    if realism["snr_db"] is not None:
        parts.append(f"SNR {realism['snr_db']:.1f} dB")
    parts += [f"off-screen {o['class']}" for o in realism["offscreen"]]
    return "; " + "; ".join(parts) if parts else ""


def write_preview(world: WorldParams, n: int, path: str | Path) -> Path:
    """Render the first ``n`` clips of :func:`preview_specs` in memory and write a PNG contact sheet to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if n < 1:
        raise ValueError(f"--preview {n}: need at least one clip")
    specs = preview_specs(world, n)
    if not specs:
        raise ValueError("the world has no clips to preview: every count is 0")
    fig, axes = plt.subplots(
        2 * len(specs),
        FRAMES_PER_ROW,
        figsize=(2.4 * FRAMES_PER_ROW, 3.6 * len(specs)),
        gridspec_kw={"height_ratios": [2, 1] * len(specs)},
        squeeze=False,
    )
    for row, spec in enumerate(specs):
        clip: ClipRender = render_clip(spec, world)
        n_frames = clip.frames.shape[0]
        picks = np.linspace(0, n_frames - 1, FRAMES_PER_ROW).round().astype(int)
        for col, t in enumerate(picks):
            ax = axes[2 * row, col]
            ax.imshow(clip.frames[t])
            for obj in clip.annotation["objects"]:
                x0, y0, x1, y1 = obj["boxes"][t]
                colour = SOUNDING if obj["sounding_frames"][t] else SILENT
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color=colour, lw=1.5))
                ax.text(x0, y0 - 2, obj["class"], color=colour, fontsize=6, va="bottom")
            ax.set_title(
                f"{spec.clip_id}  t={t / world.fps:.2f}s" if col == 0 else f"t={t / world.fps:.2f}s", fontsize=7
            )
            ax.axis("off")
        mel_ax = plt.subplot2grid((2 * len(specs), FRAMES_PER_ROW), (2 * row + 1, 0), colspan=FRAMES_PER_ROW, fig=fig)
        for col in range(FRAMES_PER_ROW):
            axes[2 * row + 1, col].remove()
        mel_ax.imshow(
            _logmel(clip.audio, world.sample_rate),
            origin="lower",
            aspect="auto",
            cmap="magma",
            extent=(0, world.duration_s, 0, N_MELS),
        )
        for t in picks:
            mel_ax.axvline(t / world.fps, color="white", lw=0.6, ls="--")
        sounding = ", ".join(o["class"] for o in clip.annotation["objects"] if o["sounding"]) or "none"
        mel_ax.set_title(f"log-mel ({spec.scene}; sounding: {sounding}{clip_effects(clip.annotation)})", fontsize=7)
        mel_ax.set_xlabel("s", fontsize=6)
        mel_ax.tick_params(labelsize=6)
    title = effects_title(world)
    if title is not None:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return save_png(fig, path, 90)
