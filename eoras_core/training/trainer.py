"""The training loop: AdamW + warmup/cosine, focal loss, periodic official eval, resume, DDP.

Run under `torchrun --nproc_per_node N` for data-parallel training (gloo on CPU, NCCL on
GPU); a single process needs nothing special. Only rank 0 writes checkpoints and logs.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm import tqdm

from ..build import build_eoras
from ..config import get_config
from ..checkpoint import load_eoras, save_eoras
from ..engine import EorasPredictor
from ..evaluate import evaluate_split, merge_scores
from .dataset import Augment, TrackWindows
from .losses import eoras_loss


@dataclass
class TrainConfig:
    data: str
    out: str
    preset: str = "tiny"
    init: str | None = None          # fine-tune from this checkpoint (published or project)
    eval_data: str | None = None
    steps: int = 1000
    batch: int = 4                   # tracks per step per process
    seq_len: int = 12
    lr: float = 1e-3
    weight_decay: float = 5e-4
    warmup: int = 50
    min_lr_ratio: float = 0.05
    vis_lambda: float = 1.0
    grad_clip: float = 1.0
    eval_every: int = 200
    eval_videos: int | None = 20
    save_every: int = 100
    resume: bool = True
    amp: bool | None = None          # bf16 autocast; default on for CUDA
    augment: bool = True
    workers: int = 0
    seed: int = 0
    time_limit_min: float | None = None  # stop (and save) after this many minutes


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def _schedule(cfg: TrainConfig):
    def factor(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _slow_backbone_statistics(model: torch.nn.Module, momentum: float = 0.01) -> None:
    """Pretrained BatchNorm statistics move slowly (TensorFlow's 0.99 decay), so small,
    synthetic batches do not wash out what ImageNet taught them."""
    for m in model.feature_extractor.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = momentum


class Trainer:
    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.world, self.rank, local = _dist_info()
        cuda = torch.cuda.is_available()
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo")
        self.device = torch.device(f"cuda:{local}" if cuda else "cpu")
        if cuda:
            torch.cuda.set_device(self.device)
        self.amp = cuda if cfg.amp is None else cfg.amp
        torch.manual_seed(cfg.seed + self.rank)
        self.out = Path(cfg.out)
        if cfg.init:
            model = load_eoras(cfg.init, preset=cfg.preset, device=self.device)
        else:  # an ImageNet-pretrained backbone starts from ImageNet (resuming overwrites it anyway)
            model = build_eoras(cfg.preset, pretrained=get_config(cfg.preset).encoder == "efficientnet_lite0")
        if model.config.encoder == "efficientnet_lite0":
            _slow_backbone_statistics(model)
        self.model = model.to(self.device).train()
        if self.world > 1 and cuda:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.optim, _schedule(cfg))
        self.step = 0
        self.epoch = 0
        if cfg.resume:
            self._try_resume()
        self.ddp = DistributedDataParallel(self.model, device_ids=[local] if cuda else None) if self.world > 1 else self.model
        self.data = TrackWindows(cfg.data, cfg.seq_len, Augment() if cfg.augment else None, cfg.seed)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- checkpoints -------------------------------------------------------------------
    def _paths(self) -> tuple[Path, Path]:
        return self.out / "last.safetensors", self.out / "last.optim.pt"

    def _try_resume(self) -> None:
        weights, state = self._paths()
        if not (weights.exists() and state.exists()):
            return
        loaded = load_eoras(weights, device=self.device)
        self.model.load_state_dict(loaded.state_dict())
        blob = torch.load(state, map_location=self.device, weights_only=True)
        self.optim.load_state_dict(blob["optim"])
        self.sched.load_state_dict(blob["sched"])
        self.step, self.epoch = int(blob["step"]), int(blob["epoch"])
        if self.is_main:
            print(f"resumed from {weights} at step {self.step}")

    def save(self, extra: dict | None = None) -> None:
        if not self.is_main:
            return
        weights, state = self._paths()
        info = {"step": self.step, "epoch": self.epoch, "train": asdict(self.cfg), **(extra or {})}
        save_eoras(self.model, weights, extra=info)
        tmp = state.with_suffix(".tmp")
        torch.save({"optim": self.optim.state_dict(), "sched": self.sched.state_dict(),
                    "step": self.step, "epoch": self.epoch}, tmp)
        os.replace(tmp, state)

    # -- evaluation --------------------------------------------------------------------
    def evaluate(self) -> dict:
        """Every rank scores its share of the held-out videos; the shares are merged, so no
        rank idles in the next all-reduce while another evaluates."""
        self.model.eval()
        shares: list = []
        try:
            predictor = EorasPredictor(self.model, amp=self.amp, cuda_graphs=False)
            evaluate_split(predictor, self.cfg.eval_data,
                           baselines=False, limit=self.cfg.eval_videos, progress=False,
                           shard=(self.rank, self.world), scores=shares)
        finally:
            self.model.train()
        if self.world > 1:
            gathered: list = [None] * self.world
            dist.all_gather_object(gathered, shares[0])
            shares = gathered
        doc = merge_scores(shares)
        return {k: doc[k] for k in ("miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean")}

    # -- loop ----------------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        self.data.set_epoch(self.epoch)
        if self.world > 1:
            sampler = DistributedSampler(self.data, self.world, self.rank, shuffle=True, seed=self.cfg.seed)
            sampler.set_epoch(self.epoch)
        else:
            sampler = RandomSampler(self.data, generator=torch.Generator().manual_seed(self.cfg.seed + self.epoch))
        workers = self.cfg.workers
        return DataLoader(self.data, batch_size=self.cfg.batch, sampler=sampler, num_workers=workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=False,
                          prefetch_factor=4 if workers else None,
                          drop_last=len(self.data) >= self.cfg.batch * self.world)

    def train_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """One optimisation step; returns the loss as a detached tensor (reading it syncs a GPU,
        so the loop reads it only when it logs)."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        ctx = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp else torch.autocast(self.device.type, enabled=False)
        with ctx:
            out = self.ddp(batch["crops"], batch["K"])
        loss = eoras_loss({k: v.float() for k, v in out.items()}, batch["amodal"], batch["visible"], self.cfg.vis_lambda)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optim.step()
        self.sched.step()
        self.step += 1
        return loss.detach()

    def fit(self) -> dict:
        cfg = self.cfg
        start = time.time()
        log_path = self.out / "log.jsonl"
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", disable=not self.is_main)
        frames_done, t_frames, last_eval = 0, time.time(), {}
        stop = False
        while self.step < cfg.steps and not stop:
            for batch in self._loader():
                loss_t = self.train_step(batch)
                frames_done += batch["crops"].shape[0] * batch["crops"].shape[1] * self.world
                fps = frames_done / max(1e-9, time.time() - t_frames)
                bar.update(1)
                if self.step % 10 == 0 or self.step == 1:  # the only host sync of the loss
                    loss = float(loss_t)
                    bar.set_postfix(loss=f"{loss:.4f}", fps=f"{fps:.1f}")
                if self.is_main and (self.step % 10 == 0 or self.step == 1):
                    with open(log_path, "a") as f:
                        f.write(json.dumps({"step": self.step, "loss": loss, "lr": self.sched.get_last_lr()[0],
                                            "frames_per_s": fps, "minutes": (time.time() - start) / 60}) + "\n")
                if cfg.eval_data and self.step % cfg.eval_every == 0:   # every rank takes part
                    last_eval = self.evaluate()
                    if self.is_main:
                        with open(log_path, "a") as f:
                            f.write(json.dumps({"step": self.step, "eval": last_eval}) + "\n")
                        bar.write(f"step {self.step}: " + " ".join(f"{k}={v:.4f}" for k, v in last_eval.items()))
                if self.step % cfg.save_every == 0:
                    self.save({"eval": last_eval})
                timed_out = cfg.time_limit_min is not None and (time.time() - start) / 60 > cfg.time_limit_min
                if self.world > 1 and self.step % 10 == 0:  # every rank must agree to stop (a sync: not every step)
                    flag = torch.tensor([1.0 if timed_out else 0.0], device=self.device)
                    dist.all_reduce(flag)
                    timed_out = bool(flag.item())
                elif self.world > 1:
                    timed_out = False     # ranks decide together, on the steps above
                if self.step >= cfg.steps or timed_out:
                    stop = True
                    break
            self.epoch += 1
        bar.close()
        summary = {"step": self.step, "minutes": (time.time() - start) / 60,
                   "frames_per_s": frames_done / max(1e-9, time.time() - t_frames), "eval": last_eval}
        self.save({"eval": last_eval, "frames_per_s": summary["frames_per_s"]})
        if self.world > 1:
            dist.barrier()
        return summary
