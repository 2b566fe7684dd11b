"""The app's colours, and how they look to people with red-green colour blindness.

States differ in three ways, so no one of them has to carry the meaning alone: shape (circle,
triangle, square), lightness (light, middle, dark) and hue (Okabe & Ito's colour-blind-safe
palette, blue for abstinent, orange for lapsed, a dark vermilion for relapsed). About one man in
twelve has a red-green deficiency; in a lecture hall that is several students. `simulate`
applies Machado, Oliveira & Fernandes (2009)'s full-severity matrices (in linear RGB) so a test
can check that the state colours keep a lightness difference for them too.
"""

from __future__ import annotations

import numpy as np

STATE_COLORS = ("#0072B2", "#F0E442", "#4A1000")
"""abstinent (blue, middle), lapsed (yellow, light), relapsed (dark red-brown, dark)."""
STATE_SHAPES = ("circle", "triangle", "square")
WITH_GROUP = "#009E73"  # Okabe-Ito bluish green
WITHOUT_GROUP = "#000000"  # drawn dashed and on top, so a small gap stays visible
DOMAIN_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
TRACE_COLORS = ("#0072B2", "#009E73", "#E69F00", "#D55E00")

MACHADO_2009 = {
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
}
"""Machado et al. (2009), IEEE TVCG 15(6), severity 1.0: linear RGB to simulated linear RGB."""


def linear_rgb(color: str) -> np.ndarray:
    """'#rrggbb' as linear-light RGB in [0, 1] (the sRGB transfer curve undone)."""
    srgb = np.array([int(color[k : k + 2], 16) / 255 for k in (1, 3, 5)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def lightness(rgb: np.ndarray) -> float:
    """CIELAB L* (0 black to 100 white) of a linear RGB colour."""
    y = float(np.clip(rgb, 0, 1) @ np.array([0.2126, 0.7152, 0.0722]))
    f = y ** (1 / 3) if y > (6 / 29) ** 3 else y / (3 * (6 / 29) ** 2) + 4 / 29
    return 116 * f - 16


def simulate(color: str, vision: str) -> np.ndarray:
    """Linear RGB of `color` as seen with `vision` ('normal', 'protanopia', 'deuteranopia')."""
    rgb = linear_rgb(color)
    return rgb if vision == "normal" else np.clip(MACHADO_2009[vision] @ rgb, 0, 1)


def smallest_lightness_gap(colors: tuple[str, ...], vision: str) -> float:
    """The smallest L* difference between any two of `colors`, as seen with `vision`."""
    values = sorted(lightness(simulate(c, vision)) for c in colors)
    return min(b - a for a, b in zip(values, values[1:], strict=False))
