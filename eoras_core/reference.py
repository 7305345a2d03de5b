"""The published schedule: frame by frame, object by object, fp32, no caching.

Kept as the baseline that benchmarks compare the engine against, and as an independent
check of the batched path (tests assert both agree). Computes the same function as
`EoRaS.forward` with the BEV lift done the literal way (sample, then 1x1 conv).
"""
from __future__ import annotations

import torch

from .modeling import EoRaS


def _bev_literal(model: EoRaS, p3: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    gen = model.bev_generator
    return gen.conv(gen.lift(p3, K))


@torch.inference_mode()
def reference_forward(model: EoRaS, crops: torch.Tensor, K: torch.Tensor) -> dict[str, torch.Tensor]:
    """crops (B,T,3,S,S), K (B,T,3,3) -> {'full_mask', 'vis_mask'} (B,T,1,121,121)."""
    b_total, t_total = crops.shape[:2]
    full, vis = [], []
    for b in range(b_total):  # object by object
        fea, bev = [], []
        for t in range(t_total):  # frame by frame
            p3 = model.feature_extractor(crops[b, t][None])
            bev_map = _bev_literal(model, p3, K[b, t][None].to(crops.dtype))
            fea.append(model.fea_fc(p3.flatten(2).transpose(1, 2)))
            bev.append(model.bev_fc(bev_map.flatten(2).transpose(1, 2)))
        outs = {}
        for direction, order in ((0, range(t_total)), (1, range(t_total - 1, -1, -1))):
            slots = model.slot.weight[None]
            for t in order:
                kv = model.slot_update_bev.memory_kv(bev[t], model.bev_pos)
                slots, _ = model.slot_update_bev(slots, model.slot_pos, kv)
                kv = model.slot_update_feature.memory_kv(fea[t], model.fea_pos)
                slots, _ = model.slot_update_feature(slots, model.slot_pos, kv)
                kv = model.feature_update.memory_kv(slots, model.slot_pos)
                outs[direction, t], _ = model.feature_update(fea[t], model.fea_pos, kv)
        side = model.config.feature_side
        for t in range(t_total):
            fused = torch.cat([outs[0, t], outs[1, t]], -1).transpose(1, 2).reshape(1, -1, side, side)
            full.append(torch.sigmoid(model.dec_fm(fused)))
            vis.append(torch.sigmoid(model.dec_vm(fused)))
    shape = (b_total, t_total, 1, *full[0].shape[-2:])
    return {"full_mask": torch.cat(full).view(shape), "vis_mask": torch.cat(vis).view(shape)}
