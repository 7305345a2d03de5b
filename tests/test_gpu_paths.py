"""The GPU code paths, run on the CPU: CUDA-graph capture and replay (through a stand-in that
records and re-executes the captured ops, as a real graph replays its kernels), devices,
dtypes, and the ZeroGPU worker."""
import logging
import multiprocessing as mp

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from eoras_core import build_eoras
from eoras_core.cuda_graphs import StepGraphs
from eoras_core.engine import EorasPredictor
from eoras_core.training.losses import focal_loss


class _Tape(TorchFunctionMode):
    """Records every top-level torch call made while capturing."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.calls.append((func, args, kwargs, out))
        return out


def _copy_into(old, new) -> None:
    if isinstance(old, torch.Tensor) and isinstance(new, torch.Tensor):
        if old.data_ptr() != new.data_ptr():
            old.copy_(new)      # the captured output's memory now holds this replay's values
    elif isinstance(old, (tuple, list)) and isinstance(new, (tuple, list)):
        for a, b in zip(old, new):
            _copy_into(a, b)


class FakeGraph:
    """torch.cuda.CUDAGraph on the CPU: replay re-runs the recorded ops on the same tensors."""

    captures = 0
    fail = False

    def __init__(self) -> None:
        self.tape: _Tape | None = None

    def replay(self) -> None:
        for func, args, kwargs, out in self.tape.calls:
            _copy_into(out, func(*args, **kwargs))


class _FakeCapture:
    def __init__(self, graph: FakeGraph, pool=None, **_) -> None:
        self.graph = graph

    def __enter__(self):
        if FakeGraph.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        FakeGraph.captures += 1
        self.graph.tape = _Tape()
        self.graph.tape.__enter__()
        return self

    def __exit__(self, *exc):
        self.graph.tape.__exit__(*exc)
        return False


class _FakeStream:
    def wait_stream(self, other) -> None:
        pass


class _NoContext:
    def __init__(self, *_):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def fake_cuda(monkeypatch):
    FakeGraph.captures, FakeGraph.fail = 0, False
    monkeypatch.setattr(torch.cuda, "CUDAGraph", FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", _FakeCapture)
    monkeypatch.setattr(torch.cuda, "Stream", _FakeStream)
    monkeypatch.setattr(torch.cuda, "stream", _NoContext)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *a: _FakeStream())
    monkeypatch.setattr(torch.cuda, "graph_pool_handle", lambda: object())
    return FakeGraph


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_eoras("tiny").eval()


def _features(model, b: int, t: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    cfg = model.config
    crops = torch.rand(b * t, 3, cfg.crop_size, cfg.crop_size, generator=g)
    K = torch.tensor([[1.1, 0, -0.5], [0, -1.1, -0.5], [0, 0, -1.0]]).expand(b * t, 3, 3)
    with torch.inference_mode():
        p3, bev = model.encode_frames(crops, K)
    return p3.view(b, t, *p3.shape[1:]), bev.view(b, t, *bev.shape[1:])


def _run(model, p3, bev, graphs: StepGraphs | None, intermediates: bool = True):
    with torch.inference_mode():
        return model.forward_features(p3, bev, intermediates, graphs.run_slots if graphs is not None else None)


def test_graph_replay_equals_eager_and_outputs_are_not_overwritten(model, fake_cuda):
    graphs = StepGraphs(model)
    a, b = _features(model, 1, 5, seed=1), _features(model, 1, 5, seed=2)
    eager_a, eager_b = _run(model, *a, None), _run(model, *b, None)
    got_a = _run(model, *a, graphs)
    kept = {k: v.clone() for k, v in got_a.items()}
    got_b = _run(model, *b, graphs)              # same shapes: replays, no new capture
    assert fake_cuda.captures == 1 and len(graphs) == 1
    for key in ("full_mask", "vis_mask", "attn_slot_bev", "attn_slot_feature"):
        torch.testing.assert_close(got_a[key], eager_a[key], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got_b[key], eager_b[key], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got_a[key], kept[key], rtol=0, atol=0)   # the second call left the first alone
    assert not torch.allclose(got_a["full_mask"], got_b["full_mask"])
    # A different clip length replays the same step graph: graphs follow the batch, not the track.
    _run(model, *_features(model, 1, 9, seed=3), graphs)
    assert fake_cuda.captures == 1


def test_a_failing_capture_still_returns_results_and_warns_once(model, fake_cuda, caplog):
    fake_cuda.fail = True
    graphs = StepGraphs(model)
    feats = _features(model, 2, 4, seed=4)
    with caplog.at_level(logging.WARNING, logger="eoras_core.cuda_graphs"):
        first = _run(model, *feats, graphs)
        second = _run(model, *feats, graphs)
    eager = _run(model, *feats, None)
    torch.testing.assert_close(first["full_mask"], eager["full_mask"])
    torch.testing.assert_close(second["full_mask"], eager["full_mask"])
    assert len(graphs) == 0 and len([r for r in caplog.records if "CUDA graph" in r.message]) == 1


def test_graph_cache_stays_bounded(model, fake_cuda):
    graphs = StepGraphs(model, max_entries=2)
    for b in (1, 2, 3, 4):
        _run(model, *_features(model, b, 2, seed=b), graphs, intermediates=False)
    assert len(graphs) == 2 and fake_cuda.captures == 4


def test_engine_with_graphs_matches_the_plain_engine(model, fake_cuda):
    frames = np.random.default_rng(5).integers(0, 255, (6, 96, 128, 3), np.uint8)
    tracks = {1: {f: [20 + f, 10, 80 + f, 70] for f in range(6)}, 2: {f: [50, 30, 120, 90] for f in range(1, 5)}}
    plain = EorasPredictor(model, fused=False)
    graphed = EorasPredictor(model, fused=False)
    graphed.graphs = StepGraphs(model)
    for p in (plain, graphed):
        p.set_video(frames)
    want, got = plain.predict(tracks), graphed.predict(tracks)
    assert fake_cuda.captures >= 1
    for obj in tracks:
        np.testing.assert_allclose(got[obj].full_prob, want[obj].full_prob, rtol=1e-5, atol=1e-5)


def test_forward_on_the_meta_device_creates_nothing_elsewhere():
    with torch.device("meta"):
        model = build_eoras("tiny").eval()
        crops = torch.empty(1, 3, 3, model.config.crop_size, model.config.crop_size)
        K = torch.empty(1, 3, 3, 3)
    out = model(crops, K, intermediates=True)
    assert {v.device.type for v in out.values()} == {"meta"}


def test_outputs_are_float32_under_bf16_autocast_and_a_confident_mistake_has_a_gradient(model):
    crops = torch.rand(1, 2, 3, model.config.crop_size, model.config.crop_size)
    K = torch.tensor([[1.1, 0, -0.5], [0, -1.1, -0.5], [0, 0, -1.0]]).expand(1, 2, 3, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(crops, K)
    assert out["full_mask"].dtype == torch.float32 and out["vis_mask"].dtype == torch.float32
    engine = EorasPredictor(model, amp=True, fused=False)          # the GPU configuration, on the CPU
    ran = engine.run_crops(crops, K, intermediates=True)
    assert {v.dtype for v in ran.values()} == {torch.float32} and ran["bev"].numpy().shape[:2] == (1, 2)
    # The model's sigmoid is taken in float32: a logit of 8 on a background pixel still teaches.
    logit = torch.full((1, 1, 4, 4), 8.0, dtype=torch.bfloat16, requires_grad=True)
    focal_loss(torch.sigmoid(logit.float()), torch.zeros(1, 1, 4, 4)).backward()
    assert logit.grad.abs().min() > 0
    bf16 = torch.full((1, 1, 4, 4), 8.0, dtype=torch.bfloat16, requires_grad=True)
    focal_loss(torch.sigmoid(bf16), torch.zeros(1, 1, 4, 4)).backward()
    assert bf16.grad.abs().max() == 0        # what the float32 sigmoid avoids


def _zero_gpu_child(queue, frames, tracks):
    from ui import zero_gpu

    import spaces

    # This CPU stand-in for the GPU worker computes on the CPU: one thread, because an OpenMP
    # pool that already ran in the parent does not survive a fork.
    torch.set_num_threads(1)

    fn = spaces.GPU(duration=zero_gpu.clip_seconds)(zero_gpu.run_clip)
    res = fn(frames, None, tracks)
    queue.put({k: v.full_prob for k, v in res.items()})


def test_zero_gpu_function_runs_in_a_forked_worker(model, monkeypatch):
    from ui import zero_gpu

    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    monkeypatch.setattr(zero_gpu, "_REGISTRY", {})
    assert zero_gpu.gpu_runner(model) is None            # chosen from the environment, not the package
    runner = zero_gpu.gpu_runner(model, decorator=__import__("spaces").GPU)
    frames = np.random.default_rng(6).integers(0, 255, (4, 80, 96, 3), np.uint8)
    tracks = {3: np.array([[10, 10, 60, 60]] * 4, np.float64)}
    here = runner(frames, None, tracks)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_zero_gpu_child, args=(queue, frames, tracks))
    child.start()
    got = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_allclose(got[3], here[3].full_prob, rtol=1e-5, atol=1e-6)
    assert 10 <= zero_gpu.clip_seconds(frames, None, tracks) <= zero_gpu.MAX_SECONDS
    with pytest.raises(RuntimeError, match="registered once"):
        zero_gpu.register(build_eoras("tiny"))


def test_attention_weights_keep_float32_scores_under_bf16_autocast():
    import math

    import torch.nn.functional as F

    from eoras_core.modeling.transformer import Attention

    torch.manual_seed(7)
    attn = Attention(64, 4).eval()
    query, memory = torch.randn(2, 8, 64) * 4, torch.randn(2, 256, 64) * 4
    kv = attn.project_kv(memory, memory)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        _, got = attn(query, kv, need_weights=True)
        q = attn._split(F.linear(query, attn.in_proj_weight[:64], attn.in_proj_bias[:64]))   # bf16, as inside
        bf16_scores = torch.softmax((q / math.sqrt(16)) @ kv[0].transpose(-2, -1), dim=-1).mean(1)
    want = torch.softmax((q.float() / math.sqrt(16)) @ kv[0].float().transpose(-2, -1), dim=-1).mean(1)
    assert got.dtype == torch.float32 and q.dtype == torch.bfloat16
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)          # scores and softmax in float32
    assert (bf16_scores.float() - want).abs().max() > 1e-3              # what rounding them would cost
