"""Colours for the map's clusters: one "#RRGGBB" per cluster, distinct for any number of clusters.

Pure; plotly (for its qualitative palettes) is imported inside the function that needs it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

# Two colours closer than this (the "redmean" RGB distance, a cheap stand-in for perceived difference) are not used
# together while the palettes last. Plotly's own qualitative palettes keep their colours 68-113 apart.
MIN_COLOUR_DISTANCE = 80.0


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_distance(a: str, b: str) -> float:
    """How different two "#RRGGBB" colours look: the redmean-weighted RGB distance (0 = equal, ~765 = black/white)."""
    (r1, g1, b1), (r2, g2, b2) = _rgb(a), _rgb(b)
    mean_red = (r1 + r2) / 2
    return math.sqrt(
        (2 + mean_red / 256) * (r1 - r2) ** 2 + 4 * (g1 - g2) ** 2 + (2 + (255 - mean_red) / 256) * (b1 - b2) ** 2
    )


def distinct_colours(n: int) -> list[str]:
    """``n`` different "#RRGGBB" colours for ``n`` clusters, the same list for the same ``n`` (each is a prefix of
    the next).

    Plotly's default ten come first, so a small map looks as it always did. Then, from the colours of Plotly's other
    qualitative palettes, the one farthest from every colour taken so far, again and again while it stays at least
    ``MIN_COLOUR_DISTANCE`` away (57 colours in all; the 11th is near-black, the 12th a grass green). Past those,
    hues step by the golden angle through three lightnesses and two saturations, skipping any colour already taken,
    so no two clusters ever share a colour (a plain cycle of a 10-colour palette gave cluster 10 the colour of
    cluster 0).
    """
    import colorsys

    chosen = list(_palette_colours())[:n]
    taken = set(chosen)
    step = 0
    while len(chosen) < n:
        hue = (step * 0.6180339887) % 1.0
        lightness = (0.45, 0.65, 0.30)[step % 3]
        saturation = (0.75, 0.55)[(step // 3) % 2]
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        colour = f"#{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"
        if colour not in taken:
            taken.add(colour)
            chosen.append(colour)
        step += 1
    return chosen


def coloured_groups(keys: np.ndarray) -> list[tuple[object, np.ndarray, str]]:
    """The points grouped by the value that colours them (a cluster, a status, a source), a colour for each.

    The Explore map draws one trace per value, so its legend entry toggles it; the groups come from one sort instead
    of a pass over the points per value (100k points, hundreds of clusters).

    Returns:
        [(value, the indices of its points in ``keys``, "#RRGGBB")], one per distinct value, sorted by value; the
        indices keep the points' order and the colours are ``distinct_colours``.
    """
    values, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sizes = np.bincount(inverse, minlength=len(values))
    palette = distinct_colours(len(values))  # Plotly's default cycles after 10: clusters would share colours
    ends = np.cumsum(sizes)
    return [
        (value, order[end - size : end], colour)
        for value, end, size, colour in zip(values, ends, sizes, palette, strict=True)
    ]


@functools.cache
def _palette_colours() -> tuple[str, ...]:
    """Plotly's ten, then farthest-first picks from its other qualitative palettes (see ``distinct_colours``)."""
    from plotly.colors import qualitative

    chosen = [c.upper() for c in qualitative.Plotly]
    others = ("Alphabet", "Dark24", "Light24", "D3", "T10", "G10")  # the "#RRGGBB" ones
    pool = [
        c for c in dict.fromkeys(c.upper() for name in others for c in getattr(qualitative, name)) if c not in chosen
    ]
    nearest = {c: min(colour_distance(c, t) for t in chosen) for c in pool}
    while nearest:
        best = max(nearest, key=nearest.get)  # the first of equals, in palette order
        if nearest.pop(best) < MIN_COLOUR_DISTANCE:
            break
        chosen.append(best)
        nearest = {c: min(d, colour_distance(c, best)) for c, d in nearest.items()}
    return tuple(chosen)
