"""The maintainer's cluster-labelling workflow on a real build, with a tiny random vision model."""
from __future__ import annotations

import subprocess
import sys

import datasets
import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import run_build  # noqa: E402
from tiny_models import tiny_vit  # noqa: E402


def pmc_hub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pmc_hub.cli", *args], capture_output=True, text=True)


def test_fit_name_and_apply_cluster_labels(tmp_path):
    out = tmp_path / "out"
    run_build([], out, labels="none")
    model = tiny_vit(tmp_path / "vit")
    centroids, label_file = tmp_path / "centroids.npy", tmp_path / "clusters.yaml"
    fit = pmc_hub("labels", "fit", str(out), "--model", model, "--clusters", "3",
                  "--centroids", str(centroids), "--label-file", str(label_file))
    assert fit.returncode == 0, fit.stderr
    template = yaml.safe_load(label_file.read_text())
    assert 1 <= len(template["clusters"]) <= 3
    named = min(template["clusters"])
    assert template["clusters"][named]["examples"]  # captions to help the maintainer decide
    # the maintainer names one cluster
    label_file.write_text(yaml.safe_dump({"clusters": {named: {"primary": "Microscopy",
                                                                "secondary": ["light microscopy"]}}}))
    applied = pmc_hub("labels", "apply", str(out), "--model", model, "--centroids", str(centroids),
                      "--label-file", str(label_file))
    assert applied.returncode == 0, applied.stderr
    ds = datasets.load_dataset(str(out), "commercial", split="train")
    assert len(ds) == 46 and None not in ds["image_cluster_id"]
    in_named = [r for r in ds if r["image_cluster_id"] == named]
    assert in_named and all(r["image_primary_label"] == "Microscopy" for r in in_named)
    assert all(r["image_label_source"].startswith("clusters") for r in in_named)
    others = [r for r in ds if r["image_cluster_id"] != named]
    assert all(r["image_primary_label"] is None for r in others)


def test_a_misnamed_cluster_is_a_clear_error(tmp_path):
    out = tmp_path / "out"
    run_build([], out)
    model = tiny_vit(tmp_path / "vit")
    centroids, label_file = tmp_path / "c.npy", tmp_path / "l.yaml"
    assert pmc_hub("labels", "fit", str(out), "--model", model, "--clusters", "2", "--centroids", str(centroids),
                   "--label-file", str(label_file)).returncode == 0
    label_file.write_text(yaml.safe_dump({"clusters": {0: {"primary": "Not A Class"}}}))
    bad = pmc_hub("labels", "apply", str(out), "--model", model, "--centroids", str(centroids), "--label-file", str(label_file))
    assert bad.returncode == 1 and "cluster 0" in bad.stderr
