import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


import socket  # noqa: E402

import pytest  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def studio():
    """The real studio, served in-process on a free local port with the bundled demo model:
    (url, context), the context giving tests the server's view of each session."""
    from eoras_core import load_eoras
    from ui.app import CSS, KEYS_JS, build_studio

    app, ctx = build_studio(load_eoras(device="cpu"), ROOT / "assets" / "demo_clips")
    port = _free_port()
    app.queue(default_concurrency_limit=1).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, js=KEYS_JS, css=CSS,
        run_history=False, quiet=True,
    )
    yield f"http://127.0.0.1:{port}/", ctx
    app.close()


@pytest.fixture(scope="session")
def studio_url(studio):
    return studio[0]
