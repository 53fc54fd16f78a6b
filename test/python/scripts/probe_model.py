"""The model of test/python/probe.test.ts. Each module's construction line carries a marker
comment `# @<layer name>` that the test looks up to know which line a layer's source must name,
so lines may move freely as long as each marker stays on its module's (first) line."""

import torch.nn as nn


class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)  # @block.conv
        self.act = nn.ReLU()  # @block.act

    def forward(self, x):
        y = self.act(self.conv(x))
        # The same module runs twice in one forward pass: the probe records each call as a layer,
        # block.act#1 and block.act#2.
        return self.act(y - 0.25)


def tail_layers():
    # Built outside any __init__ and passed as *args: only track_sources can place these.
    return [nn.Flatten(), nn.Dropout(0.5)]  # @tail.0 @tail.1


class TinyNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.features = nn.Sequential(  # @features
            nn.Conv2d(1, 4, 3, padding=1),  # @features.0
            nn.ReLU(inplace=True),  # @features.1
            nn.MaxPool2d(2),  # @features.2
            nn.BatchNorm2d(4),  # @features.3
        )
        self.block = Block(4)  # @block
        self.tail = nn.Sequential(*tail_layers())  # @tail
        self.fc = nn.Linear(  # @fc
            4 * 4 * 4, classes
        )

    def forward(self, x):
        return self.fc(self.tail(self.block(self.features(x))))
