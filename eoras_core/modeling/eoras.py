"""EoRaS: encoder + BEV translation + bidirectional slot recurrence + two mask decoders.

All frames of all tracks go through the encoder, BEV and decoders as one batch; only the
slot recurrence is sequential, and its forward and backward passes run side by side.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..config import EorasConfig
from .bev import BEVTranslator
from .efficientnet_lite import LiteFPNEncoder
from .encoder import FPNEncoder
from .mask_decoder import MaskDecoder
from .transformer import TransformerDecoder, sincos_table


def build_encoder(c: EorasConfig) -> nn.Module:
    """The config's image encoder: crops (N,3,S,S) in [0,1] -> P3 (N,fpn_dim,S/8,S/8)."""
    if c.encoder == "efficientnet_lite0":
        return LiteFPNEncoder(c.fpn_dim)
    return FPNEncoder(c.stage_blocks, c.stage_widths, c.fpn_dim, c.norm_groups, c.stem_width)


def _chunked(fn: Callable[..., torch.Tensor], chunk: int, *args: torch.Tensor) -> torch.Tensor:
    """Apply fn over the leading dim in chunks, bounding activation memory on long clips."""
    n = args[0].shape[0]
    if chunk <= 0 or n <= chunk:
        return fn(*args)
    return torch.cat([fn(*(a[i : i + chunk] for a in args)) for i in range(0, n, chunk)])


class EoRaS(nn.Module):
    def __init__(self, config: EorasConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        side = c.feature_side
        self.feature_extractor = build_encoder(c)
        self.bev_generator = BEVTranslator(c.fpn_dim, c.bev_hidden, c.bev_dim, c.bev_x, c.bev_y, c.bev_z, c.bev_cells, c.camera_position)
        bev_side = c.bev_cells[0] // 4
        self.fea_fc = nn.Linear(c.fpn_dim, c.d_model)
        self.bev_fc = nn.Linear(c.bev_dim, c.d_model)
        self.slot_pos = nn.Parameter(sincos_table(c.num_slots, c.d_model), requires_grad=False)
        self.fea_pos = nn.Parameter(sincos_table(side * side, c.d_model), requires_grad=False)
        self.bev_pos = nn.Parameter(sincos_table(bev_side * bev_side, c.d_model), requires_grad=False)
        self.slot = nn.Embedding(c.num_slots, c.d_model)
        self.slot_update_bev = TransformerDecoder(c.d_model, c.heads, c.ffn_dim, c.num_layers)
        self.slot_update_feature = TransformerDecoder(c.d_model, c.heads, c.ffn_dim, c.num_layers)
        self.feature_update = TransformerDecoder(c.d_model, c.heads, c.ffn_dim, c.num_layers)
        self.dec_fm = MaskDecoder(2 * c.d_model, c.decoder_widths)
        self.dec_vm = MaskDecoder(2 * c.d_model, c.decoder_widths)
        self.chunk = 64  # frames per batch in the per-frame stages (0 = no chunking); cache-friendly on CPU

    # -- per-frame stages (batched over every frame of every track) --------------------
    def encode_frames(
        self, crops: torch.Tensor, K: torch.Tensor, encoder: Callable | None = None, translate: Callable | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """crops (N,3,S,S), K (N,3,3) -> P3 (N,C,S/8,S/8), BEV map (N,bev_dim,16,16).

        `encoder` and `translate` may replace the image encoder and the BEV translator
        (e.g. `FusedEoRaS`'s), keeping the chunking and the output layout.
        """
        encoder = encoder or self.feature_extractor
        translate = translate or self.bev_generator

        def run(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            p3 = encoder(x)
            bev = translate(p3, k)
            return torch.cat([p3.flatten(1), bev.flatten(1)], dim=1)

        packed = _chunked(run, self.chunk, crops, K)
        c = self.config
        side, bside = c.feature_side, c.bev_cells[0] // 4
        n_p3 = c.fpn_dim * side * side
        p3 = packed[:, :n_p3].view(-1, c.fpn_dim, side, side)
        bev = packed[:, n_p3:].view(-1, c.bev_dim, bside, bside)
        return p3, bev

    def decode_masks(self, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused maps (N,2D,16,16) -> amodal and visible logits, each (N,1,121,121)."""
        both = _chunked(lambda f: torch.cat([self.dec_fm(f), self.dec_vm(f)], 1), self.chunk, fused)
        return both[:, :1], both[:, 1:]

    # -- the recurrence -----------------------------------------------------------------
    def _shared_memory_kv(self, fea: torch.Tensor, bev: torch.Tensor) -> Callable[[int], tuple[list, list]]:
        """Memory keys/values of every frame, projected once and shared by both directions."""
        b, t = fea.shape[:2]
        rows = self.chunk if self.chunk > 0 else b * t

        def project(decoder: TransformerDecoder, x: torch.Tensor, pos: torch.Tensor) -> list:
            flat = x.flatten(0, 1)
            parts = [decoder.memory_kv(flat[i : i + rows], pos) for i in range(0, b * t, rows)]
            return [
                tuple(torch.cat([p[layer][j] for p in parts]).view(b, t, *parts[0][layer][j].shape[1:]) for j in range(2))
                for layer in range(len(parts[0]))
            ]

        kb = project(self.slot_update_bev, bev, self.bev_pos)
        kf = project(self.slot_update_feature, fea, self.fea_pos)

        def at(step: int) -> tuple[list, list]:
            f, g = step, t - 1 - step  # forward and backward frames of this step
            pick = lambda kvs: [tuple(torch.cat([x[:, f], x[:, g]]) for x in kv) for kv in kvs]  # noqa: E731
            return pick(kb), pick(kf)

        return at

    def _windowed_memory_kv(self, fea: torch.Tensor, bev: torch.Tensor) -> Callable[[int], tuple[list, list]]:
        """Memory keys/values for a window of steps at a time: bounded memory on long clips."""
        b, t = fea.shape[:2]
        window = max(1, self.chunk // max(1, 2 * b))
        current: tuple[list, list] | None = None  # projections of the window being walked

        def project(start: int) -> tuple[list, list]:
            steps = range(start, min(t, start + window))
            fwd, bwd = list(steps), [t - 1 - s for s in steps]

            def frames(x: torch.Tensor) -> torch.Tensor:  # (B,T,L,D) -> (w*2B,L,D), step-major
                return torch.stack([torch.cat([x[:, f], x[:, g]]) for f, g in zip(fwd, bwd)]).flatten(0, 1)

            kb = self.slot_update_bev.memory_kv(frames(bev), self.bev_pos)
            kf = self.slot_update_feature.memory_kv(frames(fea), self.fea_pos)
            return kb, kf

        def at(step: int) -> tuple[list, list]:
            nonlocal current
            if step % window == 0:
                current = project(step)
            off = step % window
            return tuple([tuple(x.view(-1, 2 * b, *x.shape[1:])[off] for x in kv) for kv in kvs] for kvs in current)

        return at

    def slot_step(
        self, slots: torch.Tensor, kv_bev: list, kv_fea: list, need_weights: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """One step of both directions: slots (2B,S,D) and this step's memory keys/values
        (per layer, (2B,L,D) each) -> new slots (2B,S,D) and last-layer attention (or None).
        Its shapes depend on the batch only, so a CUDA graph of it replays at every step."""
        slots, wb = self.slot_update_bev(slots, self.slot_pos, kv_bev, need_weights)
        slots, wf = self.slot_update_feature(slots, self.slot_pos, kv_fea, need_weights)
        return slots, wb, wf

    def run_slots(
        self, fea: torch.Tensor, bev: torch.Tensor, need_weights: bool, step: Callable | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Tokens (B,T,L,D) -> per-frame slots (2,B,T,S,D) for both directions, plus attention.

        Direction 0 visits t = 0..T-1, direction 1 visits T-1..0; both start from the learned
        slots and run as one batch of 2B. Each frame's memory keys/values are projected once and
        shared by both directions; long clips project a window of steps at a time instead.
        `step` may replace `slot_step` (e.g. a CUDA-graph replay of it).
        """
        advance = step or self.slot_step
        b, t = fea.shape[:2]
        if self.chunk <= 0 or b * t <= 2 * self.chunk:
            kv_at = self._shared_memory_kv(fea, bev)
        else:
            kv_at = self._windowed_memory_kv(fea, bev)

        slots = self.slot.weight[None].expand(2 * b, -1, -1)
        states, w_bev, w_fea = [], [], []
        for step in range(t):
            kv_bev, kv_fea = kv_at(step)
            slots, wb, wf = advance(slots, kv_bev, kv_fea, need_weights)
            states.append(slots)
            w_bev.append(wb)
            w_fea.append(wf)

        def unflip(seq: list[torch.Tensor]) -> torch.Tensor:
            x = torch.stack(seq, 1).view(2, b, t, *seq[0].shape[1:])
            return torch.stack([x[0], x[1].flip(1)])

        slots_all = unflip(states)
        if not need_weights:
            return slots_all, None, None
        return slots_all, unflip(w_bev), unflip(w_fea)

    # -- full model ---------------------------------------------------------------------
    def forward(self, crops: torch.Tensor, K: torch.Tensor, intermediates: bool = False) -> dict[str, torch.Tensor]:
        """crops (B,T,3,S,S) in [0,1] and intrinsics K (B,T,3,3) -> dict of outputs.

        Always: `full_mask`, `vis_mask` (B,T,1,121,121) probabilities and `full_logits`,
        `vis_logits`. With intermediates: `p3` (B,T,C,16,16), `bev` (B,T,bev_dim,16,16),
        `attn_slot_bev`, `attn_slot_feature` (2,B,T,S,256) and `attn_feature_slot`
        (2,B,T,256,S): last-layer cross-attention averaged over heads; index 0 = forward pass.
        """
        b, t = crops.shape[:2]
        p3, bev = self.encode_frames(crops.flatten(0, 1), K.flatten(0, 1).to(crops.dtype))
        out = self.forward_features(p3.view(b, t, *p3.shape[1:]), bev.view(b, t, *bev.shape[1:]), intermediates)
        if intermediates:
            out["p3"] = p3.view(b, t, *p3.shape[1:])
        return out

    def forward_features(
        self, p3: torch.Tensor, bev: torch.Tensor, intermediates: bool = False, run_slots: Callable | None = None,
        decode_masks: Callable | None = None,
    ) -> dict[str, torch.Tensor]:
        """Per-frame features p3 (B,T,C,16,16), bev (B,T,bev_dim,16,16) -> outputs as in `forward`.

        Split out so an engine can cache the per-frame work and rerun only the recurrence;
        `run_slots` may replace the recurrence (e.g. a CUDA-graph replay of it) and
        `decode_masks` the mask decoders (e.g. `FusedEoRaS.decode_masks`).
        """
        b, t = p3.shape[:2]
        d = self.config.d_model
        fea_tok = self.fea_fc(p3.flatten(0, 1).flatten(2).transpose(1, 2))  # (BT,L,D)
        bev_tok = self.bev_fc(bev.flatten(0, 1).flatten(2).transpose(1, 2))
        L = fea_tok.shape[1]
        recurrence = run_slots or self.run_slots
        slots, w_bev, w_fea = recurrence(fea_tok.view(b, t, L, d), bev_tok.view(b, t, -1, d), intermediates)

        # Feature update for every (direction, track, frame); both directions share the queries.
        mem = slots.flatten(1, 2)  # (2,BT,S,D)
        n = b * t
        step = max(1, self.chunk // 2) if self.chunk > 0 else n
        parts = []
        for i in range(0, n, step):
            m = mem[:, i : i + step].flatten(0, 1)
            out, w = self.feature_update(
                fea_tok[i : i + step], self.fea_pos, self.feature_update.memory_kv(m, self.slot_pos), intermediates, repeat=2
            )
            out = out if w is None else torch.cat([out, w], dim=-1)
            parts.append(out.view(2, -1, *out.shape[1:]))
        updated = torch.cat(parts, dim=1)  # (2,BT,L,D[+S])
        feats = updated[..., :d]
        side = self.config.feature_side
        fused = torch.cat([feats[0], feats[1]], dim=-1).transpose(1, 2).reshape(b * t, 2 * d, side, side)
        full_logits, vis_logits = (decode_masks or self.decode_masks)(fused)
        shape = (b, t, 1, *full_logits.shape[-2:])
        out = {
            "full_logits": full_logits.view(shape),
            "vis_logits": vis_logits.view(shape),
            # float32 whatever the autocast: a bf16 sigmoid rounds to exactly 1.0 above a logit of
            # about 6.2, so a confident false positive would get no gradient.
            "full_mask": torch.sigmoid(full_logits.float()).view(shape),
            "vis_mask": torch.sigmoid(vis_logits.float()).view(shape),
        }
        if intermediates:
            out["bev"] = bev
            out["attn_slot_bev"] = w_bev
            out["attn_slot_feature"] = w_fea
            out["attn_feature_slot"] = updated[..., d:].reshape(2, b, t, L, -1)
        return out
