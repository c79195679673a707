"""Seeds and random-number-generator states.

Two kinds of randomness meet in training and are kept apart on purpose:

- *data order and augmentation* must be a pure function of ``(seed, stage, epoch, rank)`` so a resumed run
  can skip to the middle of an epoch and see the same batches; loaders get their own generator from
  :func:`derive_seed` / :func:`generator_for` and never touch the global generators;
- *model randomness* (initialisation, dropout) uses the global generators of Python, NumPy and torch, which
  are seeded per stage with :func:`seed_everything` and saved/restored whole in checkpoints
  (:func:`rng_state` / :func:`set_rng_state`).
"""

from __future__ import annotations

import random
from typing import cast

import numpy as np
import torch


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed that depends on ``seed`` and every key (e.g. stage index, epoch, rank), well mixed.

    ``derive_seed(0, 1)`` and ``derive_seed(1, 0)`` differ, unlike ``seed + key``.
    """
    words = np.random.SeedSequence([seed, *keys]).generate_state(2, dtype=np.uint32)
    return int((int(words[0]) << 31) ^ int(words[1]))


def generator_for(seed: int, *keys: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`derive_seed` (for shuffles, ``DataLoader(generator=...)``)."""
    gen = torch.Generator()
    gen.manual_seed(derive_seed(seed, *keys))
    return gen


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device).

    ``deterministic`` turns on torch's deterministic algorithms; the trainer asks for it on CPU only, where it
    is cheap — on CUDA it would also need ``CUBLAS_WORKSPACE_CONFIG`` and slower kernels.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # NumPy's legacy seeder takes 32 bits
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        # Same effect as use_deterministic_algorithms(True) for eager code, without importing torch._inductor
        # (seconds at start-up) to configure a compiler the trainer does not use.
        torch.set_deterministic_debug_mode("error")


def rng_state() -> dict:
    """The state of every global generator, made of tensors/ints/lists only (loads with ``weights_only=True``)."""
    version, mt_words, gauss = random.getstate()
    # the legacy tuple form (numpy's default; its stubs pick the dict form when called without arguments)
    kind, keys, pos, has_gauss, cached = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    state = {
        "python": [version, list(mt_words), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # This rank's device only: asking for all would create a CUDA context on every GPU in every rank.
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned; the CUDA state goes to the current device, where CUDA is present."""
    version, mt_words, gauss = state["python"]
    random.setstate((version, tuple(mt_words), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
