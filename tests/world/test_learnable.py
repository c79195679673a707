"""The world is learnable: audio alone and vision alone each tell the 11 classes apart on held-out solo clips."""

from __future__ import annotations

import numpy as np
import pytest

from learnability import audio_features, render_solo, solo_world

pytestmark = pytest.mark.slow
MIN_ACCURACY = 0.9


def test_audio_only_logmel_classifier_reaches_90_percent():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Full-length clips (the world's 6 s) with one frame per second: the test is about the sound.
    world = solo_world(16, 6, fps=1, duration_s=6.0, sample_rate=16000)
    clips, labels, train = render_solo(world)
    features = np.stack([audio_features(clip.audio, world.sample_rate) for clip in clips])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.5))
    model.fit(features[train], labels[train])
    accuracy = float((model.predict(features[~train]) == labels[~train]).mean())
    assert accuracy >= MIN_ACCURACY, f"audio-only accuracy {accuracy:.3f} on {int((~train).sum())} clips"


def test_vision_only_frame_classifier_reaches_90_percent():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: more threads only wait on each other on a busy machine
    try:
        _train_and_check_vision(torch)
    finally:
        torch.set_num_threads(threads)


def _train_and_check_vision(torch):
    from torch import nn

    torch.manual_seed(0)
    world = solo_world(20, 6, fps=2, duration_s=1.0, sample_rate=8000)
    clips, labels, train = render_solo(world)
    classes = sorted(set(labels))
    target = torch.tensor([classes.index(v) for v in labels])
    frames = torch.tensor(np.stack([clip.frames for clip in clips])).float().div(255)  # (n, T, 64, 64, 3)
    frames = nn.functional.avg_pool2d(frames.permute(0, 1, 4, 2, 3).flatten(0, 1), 2).unflatten(
        0, frames.shape[:2]
    )  # (n, T, 3, 32, 32)
    train_t = torch.tensor(train)
    x_train = frames[train_t].flatten(0, 1)
    y_train = target[train_t].repeat_interleave(frames.shape[1])
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(32, len(classes)),
    )
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        model.train()
        for idx in torch.randperm(len(x_train), generator=generator).split(32):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(frames[~train_t][:, 0]).argmax(1)
    accuracy = float((predicted == target[~train_t]).float().mean())
    assert accuracy >= MIN_ACCURACY, f"vision-only accuracy {accuracy:.3f} on {int((~train).sum())} clips"
