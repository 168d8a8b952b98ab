"""OpenCLIP models for zero-shot labels, end to end with a tiny model built from a config: from a
local folder, from ``hf-hub:`` over a loopback Hub, and through a build (``--label-model``)."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import datasets
import pytest

pytest.importorskip("torch")
pytest.importorskip("open_clip")

from figure_rows import sample_rows  # noqa: E402
from hub_server import point_clients_at  # noqa: E402
from conftest import run_build  # noqa: E402
from pmc_hub.embed import EmbeddingError, OpenClipEncoder, load_clip  # noqa: E402
from pmc_hub.labels import ZeroShotLabeler  # noqa: E402
from test_labels import assert_zero_shot_follows_the_model  # noqa: E402
from tiny_models import tiny_open_clip  # noqa: E402


def test_zero_shot_with_a_tiny_open_clip_model_from_a_folder(tmp_path):
    model = tiny_open_clip(tmp_path / "openclip")
    labeler = ZeroShotLabeler(model, batch_size=3, device="cpu")
    assert isinstance(labeler.encoder, OpenClipEncoder)
    assert_zero_shot_follows_the_model(labeler, sample_rows()[:5])


class _ModelFiles(BaseHTTPRequestHandler):
    """Just enough of the Hub for hf_hub_download: /{org}/{name}/resolve/{revision}/{file}."""

    files: dict[str, bytes] = {}
    commit = "0" * 40

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _serve(self, body: bool) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        data = self.files.get("/".join(parts[:2]) + "/" + "/".join(parts[4:])) if len(parts) >= 5 and parts[2] == "resolve" else None
        if data is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", self.commit)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self):  # noqa: N802 - http.server's names
        self._serve(False)

    def do_GET(self):  # noqa: N802
        self._serve(True)


def test_zero_shot_with_an_open_clip_model_from_hf_hub(tmp_path, monkeypatch):
    folder = Path(tiny_open_clip(tmp_path / "openclip"))
    _ModelFiles.files = {f"pmc/tiny-openclip/{p.name}": p.read_bytes() for p in folder.iterdir()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ModelFiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        point_clients_at(f"http://127.0.0.1:{server.server_port}", tmp_path / "hf_home", monkeypatch)
        labeler = ZeroShotLabeler("hf-hub:pmc/tiny-openclip", batch_size=4, device="cpu")
        assert isinstance(labeler.encoder, OpenClipEncoder)
        assert_zero_shot_follows_the_model(labeler, sample_rows()[:4])
        with pytest.raises(EmbeddingError, match="hf-hub:pmc/missing: cannot load OpenCLIP model"):
            load_clip("hf-hub:pmc/missing", device="cpu")
    finally:
        server.shutdown()


def test_build_with_an_open_clip_label_model(tmp_path):
    model = tiny_open_clip(tmp_path / "openclip")
    out = tmp_path / "out"
    run_build([], out, label_model=model)
    ds = datasets.load_dataset(str(out), "commercial", split="train")
    assert len(ds) == 46 and set(ds["image_label_source"]) == {f"zero-shot:{model}"}
    assert all(0 < s <= 1 for s in ds["image_label_score"])
    assert all(p in ("single", "multiple") for p in ds["image_panel_type"])  # the content labeler ran first


def test_a_folder_without_weights_is_a_clear_error(tmp_path):
    model = Path(tiny_open_clip(tmp_path / "openclip"))
    (model / "open_clip_model.safetensors").unlink()
    with pytest.raises(EmbeddingError, match=f"{model}: cannot load OpenCLIP model"):
        load_clip(str(model), device="cpu")


def test_torchvision_imports_beside_a_cpu_torch_once_the_model_loader_is_imported():
    # PyPI's torchvision is a CUDA build: beside the CPU torch its compiled ops cannot load
    # (pmc_hub.torchvision_fix, installed where models are loaded). open_clip and transformers'
    # image processors import it anyway.
    code = ("import pmc_hub.embed, torch, torchvision, torchvision.transforms, open_clip; "
            "from transformers import CLIPImageProcessor; print(torchvision.__version__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
