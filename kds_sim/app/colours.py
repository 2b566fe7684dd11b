"""The app's colours, and how they look to people with red-green colour blindness.

States differ in three ways, so no one of them has to carry the meaning alone: shape,
lightness and hue (Okabe & Ito's colour-blind-safe blue and yellow, then darker and lighter
colours between them). The three states of the relapse process (abstinent, lapsed, relapsed)
are three shapes (circle, triangle, square) and three lightness levels at least 20 L* apart.
Model 0.3's two stays fill the lightness gaps between them, each with a shape of its own: in
treatment a light lilac plus (the sign of a clinic), incarcerated a dark purple star; every
pair of the five keeps at least 12 L* and a colour difference (CIELAB delta E) of 18 for
every eye below. People no longer in the population (died or moved away: rules.ABSENT) are
drawn faded, a hollow dashed ring on their place: the picture keeps everyone where they were,
so a class sees that someone is gone (and can still click them to read why), where a dot that
vanished would not be missed. About one man in twelve has a red-green deficiency; in a lecture
hall that is several students. `simulate` applies Machado, Oliveira & Fernandes (2009)'s
full-severity matrices (in linear RGB) so a test can check that the state colours keep a
lightness and colour difference for them too.
"""

from __future__ import annotations

import numpy as np

STATE_COLORS = ("#0072B2", "#F0E442", "#4A1000", "#BDBDBD", "#CC99CC", "#553377")
"""By status code (kds_sim.model.rules): abstinent (blue, L* 46), lapsed (yellow, 89),
relapsed (dark red-brown, 15), absent (light grey: a faded ring, not a fill), in treatment
(light lilac, 70), incarcerated (dark purple, 29)."""
STATE_SHAPES = ("circle", "triangle", "square", "ring", "plus", "star")
"""By status code, as STATE_COLORS; "ring" is the faded outline of someone no longer here."""
SHAPE_LETTERS = {
    "circle": "c",
    "triangle": "t",
    "square": "s",
    "ring": "o",
    "plus": "p",
    "star": "*",
}
"""One letter per shape: the network canvas reports what it drew with them (for tests)."""
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


SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
"""Linear sRGB to CIE XYZ (D65)."""


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (L*, a*, b*) of a linear RGB colour (sRGB primaries, D65 white)."""
    xyz = SRGB_TO_XYZ @ np.clip(rgb, 0, 1) / (SRGB_TO_XYZ @ np.ones(3))
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def smallest_difference(colors: tuple[str, ...], vision: str) -> float:
    """The smallest CIELAB colour difference (delta E 1976) between any two of `colors`, as
    seen with `vision`: lightness and what is left of hue for that eye."""
    values = [lab(simulate(c, vision)) for c in colors]
    return min(float(np.linalg.norm(a - b)) for k, a in enumerate(values) for b in values[k + 1 :])
