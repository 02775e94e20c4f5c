"""Where map labels go: each label takes the first of a ring of spots around its place (right,
left, above, below and the diagonals, nearest first) whose box covers no marker, no label placed
before it and none of the map's furniture (legend, scale bar, north arrow), and stays inside the
axes; with no such spot, the one that covers least. Work is in display pixels, once the layout
is final: `LabelPlacer` is an artist that does nothing visible and is drawn just before the
labels it places (its zorder), so every draw, full or blitted, places them for what it shows."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Annotation

GAP_PT = 2.0  # between a marker's edge and its label
RINGS_PT = (0.0, 7.0, 16.0, 30.0)  # further rings, tried when the nearer ones are taken
# Unit directions, the usual cartographic order: right, left, above, below, then the diagonals.
_D = math.sqrt(0.5)
DIRECTIONS = (
    (1.0, 0.0),
    (-1.0, 0.0),
    (0.0, 1.0),
    (0.0, -1.0),
    (_D, _D),
    (-_D, _D),
    (_D, -_D),
    (-_D, -_D),
)

Boxes = npt.NDArray[np.float64]  # (n, 4): x0, y0, x1, y1 in display pixels
Circles = npt.NDArray[np.float64]  # (n, 3): centre x, centre y, radius in display pixels


def candidate_boxes(
    x: float,
    y: float,
    radius: float,
    width: float,
    height: float,
    rings: Sequence[float],
    directions: Sequence[tuple[float, float]] = DIRECTIONS,
) -> Boxes:
    """Boxes of a `width` x `height` label around a marker of `radius` at (x, y), ring by ring
    (each ring its distance beyond the marker's edge, in pixels), in the order of `directions`;
    a box's near side or corner touches the ring ((0, 0): the box centred on the point)."""
    boxes = []
    for ring in rings:
        d = radius + ring
        for ux, uy in directions:
            x0 = x + d * ux - (width if ux < 0 else width / 2 if ux == 0 else 0.0)
            y0 = y + d * uy - (height if uy < 0 else height / 2 if uy == 0 else 0.0)
            boxes.append((x0, y0, x0 + width, y0 + height))
    return np.array(boxes, dtype=np.float64)


def conflicts(boxes: Boxes, circles: Circles, taken: Boxes, inside: Boxes) -> npt.NDArray[np.int_]:
    """For each box: how many circles and taken boxes it overlaps, plus a large number when it
    leaves the `inside` box (1, 4)."""
    if len(circles):
        cx, cy, r = (circles[:, k][None, :] for k in range(3))
        dx = np.maximum(np.maximum(boxes[:, 0:1] - cx, 0.0), cx - boxes[:, 2:3])
        dy = np.maximum(np.maximum(boxes[:, 1:2] - cy, 0.0), cy - boxes[:, 3:4])
        on_circles = np.count_nonzero(dx * dx + dy * dy < r * r, axis=1)
    else:
        on_circles = np.zeros(len(boxes), dtype=np.int_)
    on_taken = np.zeros(len(boxes), dtype=np.int_)
    if len(taken):
        on_taken = np.count_nonzero(
            (boxes[:, 0:1] < taken[:, 2][None, :])
            & (taken[:, 0][None, :] < boxes[:, 2:3])
            & (boxes[:, 1:2] < taken[:, 3][None, :])
            & (taken[:, 1][None, :] < boxes[:, 3:4]),
            axis=1,
        )
    box = inside[0]
    outside = (
        (boxes[:, 0] < box[0])
        | (boxes[:, 1] < box[1])
        | (boxes[:, 2] > box[2])
        | (boxes[:, 3] > box[3])
    )
    total: npt.NDArray[np.int_] = on_circles + on_taken + 1000 * outside
    return total


def place(
    labels: Sequence[Annotation],
    anchors: npt.NDArray[np.float64],
    radii: npt.NDArray[np.float64],
    circles: Circles,
    taken: list[tuple[float, float, float, float]],
    inside: tuple[float, float, float, float],
    renderer: RendererBase,
    rings_pt: Sequence[float] = RINGS_PT,
    directions: Sequence[tuple[float, float]] = DIRECTIONS,
) -> list[bool]:
    """Move each label (offset in points from its anchor, lower left aligned) to its best spot,
    in the order given; `anchors` and `radii` are its place in pixels and its marker's radius.
    Each placed box joins `taken`. Returns, for each label, whether it found a free spot."""
    px_per_pt = float(np.asarray(renderer.points_to_pixels(1.0)))
    rings = [(GAP_PT + ring) * px_per_pt for ring in rings_pt]
    inside_box = np.array([inside], dtype=np.float64)
    free = []
    for label, (x, y), radius in zip(labels, anchors, radii, strict=True):
        extent = label.get_window_extent(renderer)
        boxes = candidate_boxes(x, y, radius, extent.width, extent.height, rings, directions)
        scores = conflicts(boxes, circles, np.array(taken, dtype=np.float64), inside_box)
        best = int(np.argmin(scores))  # the first of the least covering
        x0, y0, x1, y1 = boxes[best]
        label.set_horizontalalignment("left")
        label.set_verticalalignment("bottom")
        label.xyann = ((x0 - x) / px_per_pt, (y0 - y) / px_per_pt)
        taken.append((x0, y0, x1, y1))
        free.append(bool(scores[best] == 0))
    return free


class LabelPlacer(Artist):
    """Draws nothing: when drawn, it calls `place_labels(renderer)`, which moves labels drawn
    after it (give it a zorder just below theirs)."""

    def __init__(self, place_labels: Callable[[RendererBase], Any], zorder: float) -> None:
        super().__init__()
        self._place_labels = place_labels
        self.set_zorder(zorder)
        self.set_in_layout(False)

    def draw(self, renderer: RendererBase) -> None:
        if self.get_visible():
            self._place_labels(renderer)
        self.stale = False


def furniture_boxes(
    renderer: RendererBase, artists: Sequence[Artist]
) -> list[tuple[float, float, float, float]]:
    """The window extents of the map's furniture that labels must not cover."""
    out = []
    for artist in artists:
        if artist.get_visible():
            box = artist.get_window_extent(renderer)
            out.append((box.x0, box.y0, box.x1, box.y1))
    return out
