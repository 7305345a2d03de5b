"""The published focal loss on sigmoid probabilities."""
from __future__ import annotations

import torch


def focal_loss(prob: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, eps: float = 1e-6) -> torch.Tensor:
    """-(1-p_t)^gamma log(p_t + eps), p_t = p*y + (1-p)*(1-y), averaged over all pixels.

    prob, target: same shape (..., 121, 121); prob in [0, 1], target in {0, 1}.
    """
    prob = prob.float()
    target = target.float()
    p_t = prob * target + (1 - prob) * (1 - target)
    return (-(1 - p_t).pow(gamma) * torch.log(p_t + eps)).mean()


def eoras_loss(out: dict[str, torch.Tensor], amodal: torch.Tensor, visible: torch.Tensor, vis_lambda: float = 1.0) -> torch.Tensor:
    """Amodal focal loss + vis_lambda x visible focal loss. Targets (B,T,1,121,121)."""
    return focal_loss(out["full_mask"], amodal) + vis_lambda * focal_loss(out["vis_mask"], visible)
