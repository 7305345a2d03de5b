"""Where the model is unsure, so an annotator knows where to correct first.

A pixel is uncertain when its amodal probability lies between LOW and HIGH; an object's
confidence is the share of its amodal mask that is not uncertain, over every frame of its
clip run (read from the engine's 121x121 outputs, so it costs nothing to compute). Saved
model masks (a reopened project) keep the confidence but not the probabilities.
"""
from __future__ import annotations

import numpy as np

LOW, HIGH = 0.3, 0.7


def uncertain_band(res, frame: int) -> np.ndarray | None:
    """(H,W) bool: pixels of this frame whose amodal probability is in (LOW, HIGH); None when
    the result has no probabilities (saved masks) or no output on this frame."""
    if getattr(res, "full_prob", None) is None or res.index(frame) is None:
        return None
    p = res.amodal_prob(frame)
    return (p > LOW) & (p < HIGH)


def confidence(res) -> float | None:
    """Share of the amodal mask (p > 0.5) that is sure (p ≥ HIGH), over all frames; None without probabilities."""
    saved = getattr(res, "confidence", None)
    if saved is not None:
        return float(saved)
    probs = getattr(res, "full_prob", None)
    if probs is None or len(probs) == 0:
        return None
    mask = probs > 0.5
    total = int(mask.sum())
    return float((probs >= HIGH).sum() / total) if total else None
