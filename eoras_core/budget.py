"""Resource budget of one request, checked before any work starts.

Why up front: a 223-byte GIF can declare 8192x8192x8 pixels and a request can name a
thousand objects; found out late, such inputs take minutes and gigabytes while other users
wait. Every limit has a flag of the same name to raise it, and every refusal names both.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass


class BudgetError(ValueError):
    """A request exceeds a limit; the message names the limit, the flag and what to send instead."""


def _machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


@dataclass(frozen=True)
class Budget:
    """Limits per request (source pixels are frames x width x height decoded from the file)."""

    max_source_pixels: int = 2_000_000_000   # --max-source-pixels: about 1,000 frames of 1080p
    max_objects: int = 100                   # --max-objects
    max_object_frames: int = 40_000          # --max-object-frames: objects x frames the model runs
    max_seconds: float = 600.0               # --max-seconds: wall time of one request

    @classmethod
    def for_machine(cls, memory_bytes: int | None = None) -> "Budget":
        """Defaults sized to the machine: smaller machines get proportionally fewer object-frames."""
        memory = memory_bytes or _machine_memory()
        scale = max(0.25, min(1.0, memory / (16 << 30)))
        return cls(max_object_frames=int(40_000 * scale))

    def check_clip(self, name: str, frames: int, width: int, height: int) -> None:
        pixels = int(frames) * int(width) * int(height)
        if pixels > self.max_source_pixels:
            raise BudgetError(f"{name}: {frames} frames of {width}x{height} is {pixels / 1e6:,.0f} M pixels to decode, "
                              f"more than this server allows ({self.max_source_pixels / 1e6:,.0f} M, "
                              "--max-source-pixels); send fewer or smaller frames")

    def check_objects(self, objects: int, frames: int) -> None:
        if objects > self.max_objects:
            raise BudgetError(f"objects: {objects} objects, more than this server allows ({self.max_objects}, "
                              "--max-objects); split the request")
        if objects * frames > self.max_object_frames:
            raise BudgetError(f"objects: {objects} objects over {frames} frames is {objects * frames:,} object-frames, "
                              f"more than this server allows ({self.max_object_frames:,}, --max-object-frames); "
                              "send fewer objects or a shorter clip")

    def deadline(self) -> "Deadline":
        return Deadline(time.monotonic() + self.max_seconds, self.max_seconds)


@dataclass(frozen=True)
class Deadline:
    """The end of one request's time; `check` is called between steps of the work."""

    at: float
    seconds: float

    def check(self, what: str = "the request") -> None:
        if time.monotonic() > self.at:
            raise BudgetError(f"{what} took longer than this server allows ({self.seconds:.0f} s, --max-seconds); "
                              "send a shorter clip or fewer objects")
