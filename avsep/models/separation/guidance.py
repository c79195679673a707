"""Guidance variants beyond Sound of Pixels' whole frame (MSSL §3.3 and Table 3).

- ``object``: the visual feature pooled with a localization map from another method (``separation.object_method``:
  cavl, mssl, dsol...), loaded through :func:`avsep.models.method`. ``separation.object_map`` picks the map:
  ``class`` (the paper profile, MSSL §3.3: the method's ``class_aware`` map of the component's class, "the
  localized visual source K^c") or ``single_source`` (the demo: its class-agnostic map, the same whatever the
  component's class). When that method, its checkpoint or its task is missing, :class:`Localizer` falls back to
  a uniform map (the object feature becomes the average-pooled whole frame) and says so in its ``note``, which
  the metrics carry.
- ``audio``: the class-disentangled audio feature: the U-Net encoder features pooled with the class activation
  map of the component's class (MSSL Eq. 5), projected to K channels.
- ``gradcam``: the class activation map itself, up-sampled to the spectrogram, used as the mask. The class
  head is a 1×1 convolution followed by global average pooling, so Grad-CAM's channel weights are the class's
  convolution weights divided by h·w: Grad-CAM is ``relu(w_c · A)`` up to a positive factor that the per-map
  max-normalisation removes.

The class of a component is its video's clip-level tag (``labels``), as MSSL trains its class heads on
clip-level tags; a component with several tags (a duet) averages over them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from avsep.models import CLASSES, classes_of, multi_hot, with_data_classes

if TYPE_CHECKING:
    from avsep.models.method import Predict

log = logging.getLogger(__name__)


def class_targets(labels: list, device: torch.device | None = None, classes: tuple[str, ...] = CLASSES) -> torch.Tensor:
    """Clip-level tags ``[B][N][names]`` → multi-hot ``(B, N, C)`` float over the dataset's ``classes``."""
    rows = [[names] if isinstance(names, str) else list(names) for row in labels for names in row]
    unknown = next((name for names in rows for name in names if name not in classes), None)
    if unknown is not None:
        raise ValueError(f"labels: class {unknown!r} is not one of {classes}")
    return multi_hot(rows, classes, device).reshape(len(labels), len(labels[0]), len(classes))


class ClassHead(nn.Module):
    """1×1 convolution over encoder features ``(B, C_l, h, w)`` → class maps ``(B, C, h, w)``; global average
    pooling of the maps gives the clip-level class logits ``(B, C)`` (MSSL's class head)."""

    def __init__(self, in_channels: int, n_classes: int = len(CLASSES)):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, n_classes, 1)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.conv(feats)
        bias = self.conv.bias
        assert bias is not None  # built with a bias (nn.Conv2d's default), which the GAP logit includes
        cams = torch.relu(maps - bias[None, :, None, None])  # Grad-CAM of the GAP logit (see module doc)
        return maps.mean(dim=(2, 3)), cams


def _per_component(cams: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Class maps ``(B, C, h, w)`` averaged over each component's classes ``(B, N, C)`` → ``(B, N, h, w)``."""
    weights = targets / targets.sum(-1, keepdim=True).clamp(min=1.0)
    return torch.einsum("bnc,bchw->bnhw", weights, cams)


def disentangled_audio(feats: torch.Tensor, cams: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSSL Eq. 5: encoder features ``(B, C_l, h, w)`` pooled with each component's class map → ``(B, N, C_l)``.

    The map is normalised to sum 1 (uniform where it is all zero)."""
    m = _per_component(cams, targets).flatten(2)  # (B, N, h*w)
    total = m.sum(-1, keepdim=True)
    m = torch.where(total > 0, m / total.clamp(min=torch.finfo(m.dtype).tiny), torch.full_like(m, 1.0 / m.shape[-1]))
    return torch.einsum("bnp,bcp->bnc", m, feats.flatten(2))


def gradcam_masks(cams: torch.Tensor, targets: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The class map as the mask: ``(B, C, h, w)`` → ``(B, N, Fq, T)`` in [0, 1] (bilinear, / per-map max)."""
    m = F.interpolate(_per_component(cams, targets), size=size, mode="bilinear", align_corners=False).clamp_(min=0)
    return m / m.amax(dim=(2, 3), keepdim=True).clamp(min=torch.finfo(m.dtype).tiny)


def select_maps(maps: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-class maps ``(B, N, F, C, h, w)`` averaged over the classes each row of ``weights (B, N, ..., C)``
    names (multi-hot) → ``(B, N, ..., F, h, w)``. A row naming no class gives a zero map (pooled uniformly)."""
    b, n, f, c, h, w = maps.shape
    rows = weights.reshape(b, n, -1, c).to(maps.dtype)
    rows = rows / rows.sum(-1, keepdim=True).clamp(min=1.0)
    out = torch.einsum("bnoc,bnfchw->bnofhw", rows, maps)
    return out.reshape(*weights.shape[:-1], f, h, w)


class Localizer:
    """Another method's localization maps for the frames of each component.

    ``maps(frames (B, N, F, 3, H, W) uint8, mix (B, S) at rate_in, targets (B, N, C))`` → ``(B, N, F, h, w)``:
    frame f of component n with the ``params.separation.localizer_window_s`` seconds of the mixture centred on
    that frame's time (only the mixture is known at test time). With ``separation.object_map`` = ``class`` the
    map is the method's ``class_aware`` map of the component's classes (``targets``, averaged over a duet's);
    with ``single_source`` it is the class-agnostic map and ``targets`` is not read. :meth:`object_maps` gives
    one map per object (``objects (B, N, O, C)``) from one pass of the method. ``available`` is False after a
    fallback, and ``note`` says why.
    """

    def __init__(self, name: str, params, data_root: str | Path, device: torch.device | str = "cpu"):
        self.name, self.params, self.device = name, params, torch.device(device)
        self.kind = params.separation.object_map.get(params.profile)
        self.task = "class_aware" if self.kind == "class" else "single_source"
        self.model: nn.Module | None = None
        self.predict: Predict[Any] | None = None
        self.note = f"{name} class map" if self.kind == "class" else f"{name} map"
        try:
            self._load(Path(data_root))
        except Exception as exc:  # noqa: BLE001 (any failure loading another method means the documented fallback)
            self.note = f"fallback: uniform map ({name} unavailable: {type(exc).__name__}: {exc})"
            log.warning("object guidance: %s", self.note)

    def _load(self, data_root: Path) -> None:
        from avsep.models import method

        module = method(self.name)
        predict = module.tasks.get(self.task)
        if predict is None:
            raise LookupError(f"model {self.name!r} has no {self.task!r} task (separation.object_map = {self.kind})")
        params = with_data_classes(self.params, data_root)  # its class head is sized by the shards' classes
        stage = module.recipe(params, data_root).stages[-1].name
        path = data_root / "models" / self.name / f"{stage}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no trained checkpoint (run `avsep train {self.name}` first)")
        model = module.build(params)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["model"])
        self.model, self.predict = model.to(self.device).eval(), predict

    @property
    def available(self) -> bool:
        return self.model is not None

    @torch.no_grad()
    def maps(
        self, frames: torch.Tensor, mix: torch.Tensor, rate_in: int, targets: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.kind == "single_source":
            return self._method_maps(frames, mix, rate_in)
        if targets is None:
            raise ValueError("object guidance with class maps needs targets (B, N, C): each component's class tags")
        return select_maps(self._method_maps(frames, mix, rate_in), targets)

    @torch.no_grad()
    def object_maps(self, frames: torch.Tensor, mix: torch.Tensor, rate_in: int, objects: torch.Tensor) -> torch.Tensor:
        """``(B, N, O, F, h, w)``: each object's map (``objects (B, N, O, C)`` one class per row); with
        ``single_source`` every object of a component gets the component's one map."""
        maps = self._method_maps(frames, mix, rate_in)
        if self.kind == "single_source":
            return maps[:, :, None].expand(-1, -1, objects.shape[2], -1, -1, -1)
        return select_maps(maps, objects)

    def _window_s(self) -> float:
        """Seconds of the mixture the method hears per frame: its own training window where it has one
        (``<method>.inputs.window_s``, e.g. MSSL's 5 s in the paper profile), else ``localizer_window_s``."""
        section = getattr(getattr(self.params, self.name, None), "inputs", None)
        own = section.window_s.get(self.params.profile) if section is not None else None
        return own or self.params.separation.localizer_window_s

    def _method_maps(self, frames: torch.Tensor, mix: torch.Tensor, rate_in: int) -> torch.Tensor:
        """The method's maps, each min-max normalised: ``(B, N, F, h, w)`` (single_source) or ``(B, N, F, C, h,
        w)`` (class); all ones at 1×1 after a fallback."""
        b, n, f = frames.shape[:3]
        classes = (len(classes_of(self.params)),) if self.kind == "class" else ()
        model, predict = self.model, self.predict  # set together by _load, so both or neither is None
        if model is None or predict is None:
            return torch.ones(b, n, f, *classes, 1, 1, device=frames.device)
        from avsep.features import frontend_from_params, logmel_torch, resample

        frontend = frontend_from_params(self.params.features)
        audio = resample(mix.float(), rate_in, frontend.sample_rate)  # (B, S'), the kernel built once
        length = round(self._window_s() * frontend.sample_rate)
        audio = F.pad(audio, (0, max(0, length - audio.shape[-1])))
        centres = ((torch.arange(f) + 0.5) / f * audio.shape[-1]).long()
        starts = (centres - length // 2).clamp(0, audio.shape[-1] - length).tolist()
        windows = torch.stack([audio[:, s : s + length] for s in starts], dim=1)  # (B, F, L)
        windows = windows[:, None].expand(b, n, f, length).reshape(-1, length)
        batch = {
            "frame": frames.reshape(-1, *frames.shape[-3:]).to(self.device),
            "audio": windows.to(self.device),
            "logmel": logmel_torch(windows, frontend)[:, None].to(self.device),
            "sample_rate": frontend.sample_rate,  # for a method that computes its own front end from "audio"
        }
        out = predict(model, batch).float()  # (B*N*F, [C,] h, w), any scale: "higher = sounding"
        low = out.amin(dim=(-2, -1), keepdim=True)
        out = (out - low) / (out.amax(dim=(-2, -1), keepdim=True) - low).clamp(min=torch.finfo(out.dtype).tiny)
        return out.reshape(b, n, f, *out.shape[1:]).to(frames.device)
