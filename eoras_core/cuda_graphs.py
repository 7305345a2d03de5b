"""CUDA-graph replay of the slot recurrence.

The recurrence is hundreds of small kernels per track (2 decoders x layers x frames);
on a GPU their launch overhead dominates, so one captured graph per (batch, length)
shape replays them all at once. Capture happens on first use of a shape.
"""
from __future__ import annotations

import torch

from .modeling import EoRaS


class GraphedRecurrence:
    """Drop-in for `EoRaS.run_slots` that records it once and then replays it."""

    def __init__(self, model: EoRaS, warmup: int = 2) -> None:
        self.model = model
        self.warmup = warmup
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: tuple[torch.Tensor, torch.Tensor] | None = None
        self.outputs: tuple | None = None

    def _capture(self, fea: torch.Tensor, bev: torch.Tensor, need_weights: bool) -> None:
        self.inputs = (fea.clone(), bev.clone())
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.model.run_slots(*self.inputs, need_weights)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.outputs = self.model.run_slots(*self.inputs, need_weights)
        self.graph = graph

    def __call__(self, fea: torch.Tensor, bev: torch.Tensor, need_weights: bool):
        if self.graph is None:
            self._capture(fea, bev, need_weights)
        self.inputs[0].copy_(fea)
        self.inputs[1].copy_(bev)
        self.graph.replay()
        # Outputs live in the graph's pool and are overwritten by the next replay.
        return tuple(None if o is None else o.clone() for o in self.outputs)
