"""Clicks on the frame, as the browser reports them.

Gradio maps image clicks with a scale capped at 1, which shifts clicks on frames shown
larger than their pixel size. keys.js therefore measures each press itself: the position
inside the image's drawn content (object-fit letterboxing removed) as fractions of its
width and height, clamped to [0, 1], and writes them as JSON into a hidden textbox. A
finished box always travels as one message with both corners (a drag, or the second of two
clicks), so a lost or merged first-click message cannot misplace it; a lone click only
shows the pending corner. This module turns those messages into frame pixels.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .actions import UserError

MAX_STROKE_POINTS = 4000


@dataclass(frozen=True)
class Press:
    """kind 'click' (one point), 'box' (two corners), 'stroke' (a brush path) or 'polygon' (its corners);
    points as (fx, fy) in [0, 1]."""

    kind: str
    points: tuple[tuple[float, float], ...]
    serial: int = 0   # increases with every press of a page; repeats are ignored


def parse_press(message: str) -> Press:
    """Validate the browser's message: {"kind": "click"|"box"|"stroke"|"polygon", "points": [[fx, fy], ...]}."""
    try:
        doc = json.loads(message)
        kind = doc["kind"]
        points = tuple((min(1.0, max(0.0, float(x))), min(1.0, max(0.0, float(y)))) for x, y in doc["points"])
        serial = int(doc.get("n", 0))
    except (TypeError, ValueError, KeyError):
        raise UserError("The click could not be read; click the frame again.") from None
    sizes = {"click": (1, 1), "box": (2, 2), "stroke": (1, MAX_STROKE_POINTS), "polygon": (3, MAX_STROKE_POINTS)}
    if kind not in sizes or not sizes[kind][0] <= len(points) <= sizes[kind][1]:
        raise UserError("The click could not be read; click the frame again.")
    return Press(kind, points, serial)


def to_pixels(point: tuple[float, float], height: int, width: int) -> tuple[float, float]:
    """(fx, fy) fractions -> (x, y) frame pixels; the frame's far edge is x = width."""
    return point[0] * width, point[1] * height
