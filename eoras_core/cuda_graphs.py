"""CUDA-graph replay of one step of the slot recurrence.

Why one step: the recurrence is hundreds of small kernels per track, and on a GPU their
launch overhead dominates. A step's shapes depend on the batch alone, not on the clip
length or on which frames have boxes, so one graph per batch size is captured once and
replayed T times for every object and every edit; graphs keyed by whole tracks would be
captured afresh after almost every edit, at several times the cost of running eagerly.

Graphs are an optimisation and must never cost a result: capture runs inside the
fallback, a failed capture or replay drops its entry (the shape then runs eagerly for good)
and logs one warning. Entries share one memory pool, are bounded (least recently used
go first) and capture/replay hold one lock, so threads never see each other's buffers.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import torch

from .modeling import EoRaS

log = logging.getLogger(__name__)


def _flat(kv: list) -> list[torch.Tensor]:
    return [x for pair in kv for x in pair]


class _CapturedStep:
    """One captured `slot_step` for fixed shapes: static inputs, the graph, its outputs."""

    def __init__(self, model: EoRaS, slots: torch.Tensor, kv_bev: list, kv_fea: list, need_weights: bool,
                 pool: Any, warmup: int) -> None:
        self.layers = (len(kv_bev), len(kv_fea))
        self.slots = slots.clone()
        self.kv = [x.clone() for x in _flat(kv_bev) + _flat(kv_fea)]
        args = (self.slots, *self._kv_lists(), need_weights)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):       # warm-ups: allocator and cuBLAS settle off the capture
            for _ in range(warmup):
                model.slot_step(*args)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, pool=pool):
            self.outputs = model.slot_step(*args)

    def _kv_lists(self) -> tuple[list, list]:
        pairs = [tuple(self.kv[i : i + 2]) for i in range(0, len(self.kv), 2)]
        return pairs[: self.layers[0]], pairs[self.layers[0] :]

    def replay(self, slots: torch.Tensor, kv_bev: list, kv_fea: list) -> tuple:
        self.slots.copy_(slots)
        for dst, src in zip(self.kv, _flat(kv_bev) + _flat(kv_fea)):
            dst.copy_(src)
        self.graph.replay()
        # Outputs live in the pool and the next replay overwrites them: hand out copies.
        return tuple(None if o is None else o.clone() for o in self.outputs)


class StepGraphs:
    """Graph-replayed `slot_step`s for one model, keyed by shapes, dtype and precision.

    `run_slots` is a drop-in for `EoRaS.run_slots` (pass it to `forward_features`).
    """

    def __init__(self, model: EoRaS, max_entries: int = 8, warmup: int = 2) -> None:
        self.model = model
        self.max_entries = max_entries
        self.warmup = warmup
        self._entries: OrderedDict[tuple, _CapturedStep] = OrderedDict()
        self._failed: set[tuple] = set()
        self._lock = threading.Lock()
        self._pool: Any = None
        self._warned = False

    def __len__(self) -> int:
        return len(self._entries)

    def run_slots(self, fea: torch.Tensor, bev: torch.Tensor, need_weights: bool):
        return self.model.run_slots(fea, bev, need_weights, step=self.step)

    def step(self, slots: torch.Tensor, kv_bev: list, kv_fea: list, need_weights: bool):
        key = (tuple(slots.shape), tuple(tuple(x.shape) for x in _flat(kv_bev) + _flat(kv_fea)), need_weights,
               slots.dtype, torch.is_autocast_enabled(slots.device.type))
        if key not in self._failed:
            with self._lock:
                try:
                    entry = self._entries.get(key)
                    if entry is None:
                        if self._pool is None:
                            self._pool = torch.cuda.graph_pool_handle()
                        entry = _CapturedStep(self.model, slots, kv_bev, kv_fea, need_weights, self._pool, self.warmup)
                        self._entries[key] = entry
                        while len(self._entries) > self.max_entries:
                            self._entries.popitem(last=False)
                    self._entries.move_to_end(key)
                    return entry.replay(slots, kv_bev, kv_fea)
                except Exception as exc:  # an optimisation only: drop it, run eagerly
                    self._entries.pop(key, None)
                    self._failed.add(key)
                    if not self._warned:
                        self._warned = True
                        log.warning("CUDA graph capture or replay failed (%s); running those shapes eagerly", exc)
        return self.model.slot_step(slots, kv_bev, kv_fea, need_weights)
