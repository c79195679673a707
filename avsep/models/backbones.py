"""ResNet-18 backbones for vision and audio, with a width knob for the CPU demo profile.

The papers use torchvision's ResNet-18 (64 base channels); ``width`` scales every stage (16 for the demo
profile), ``in_channels`` = 1 for log-mel "images", and ``strides`` sets the four stages' strides (MSSL
uses 1/2/2/1 to keep a 16×16 map). No pretrained weights are ever downloaded.
"""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import BasicBlock


class ResNet18(nn.Module):
    """``(B, in_channels, H, W) -> (B, 8*width, H/s, W/s)`` feature map (no pooling, no classifier).

    ``s`` = 4 (stem) × the product of ``strides``: 32 by default (224 → 7), 16 with strides (1, 2, 2, 1).
    """

    def __init__(self, in_channels: int = 3, width: int = 64, strides: tuple[int, int, int, int] = (1, 2, 2, 2)):
        super().__init__()
        self.in_channels, self.width, self.out_channels = in_channels, width, 8 * width
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1),
        )
        layers, channels = [], width
        for i, stride in enumerate(strides):
            out = width * 2 ** i
            down = None
            if stride != 1 or channels != out:
                down = nn.Sequential(nn.Conv2d(channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
            layers.append(nn.Sequential(BasicBlock(channels, out, stride, down), BasicBlock(out, out)))
            channels = out
        self.layers = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.layers(self.stem(x))
