"""Retrieval evaluator: ranks and metrics against a hand-computed similarity matrix, tie rule,
bootstrap intervals, precomputed embeddings, and end to end with a tiny CLIP on a carved split."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_build
from pmc_hub.cli import main
from pmc_hub.retrieval import (RetrievalError, evaluate_embeddings, format_table, ranks, ranks_from_similarity,
                               summarize_ranks)
from tiny_models import tiny_clip

# rows: images, columns: captions; the true pair is the diagonal.
SIM = np.array([
    [0.9, 0.1, 0.3, 0.2],  # true 0.9 is the highest                    -> rank 1
    [0.5, 0.4, 0.6, 0.1],  # 0.5 and 0.6 beat 0.4                        -> rank 3
    [0.2, 0.2, 0.2, 0.0],  # two candidates tie the true 0.2: they count -> rank 3
    [0.3, 0.8, 0.1, 0.7],  # 0.8 beats 0.7                               -> rank 2
])


def test_ranks_match_hand_computed_matrix():
    assert ranks_from_similarity(SIM).tolist() == [1, 3, 3, 2]
    # text -> image: column j's true entry against the rest of column j
    # col0: 0.9 top -> 1; col1: 0.8 > 0.4 -> 2; col2: 0.3, 0.6 > 0.2 -> 3; col3: 0.7 top -> 1
    assert ranks_from_similarity(SIM.T).tolist() == [1, 2, 3, 1]


def test_metrics_match_hand_computed_values():
    i2t = summarize_ranks(np.array([1, 3, 3, 2]), ks=(1, 2, 3), resamples=0)
    assert {k: v.value for k, v in i2t.recall.items()} == {"R@1": 0.25, "R@2": 0.5, "R@3": 1.0}
    assert (i2t.mean_rank.value, i2t.median_rank.value) == (2.25, 2.5)
    t2i = summarize_ranks(np.array([1, 2, 3, 1]), ks=(1, 2, 3), resamples=0)
    assert {k: v.value for k, v in t2i.recall.items()} == {"R@1": 0.5, "R@2": 0.75, "R@3": 1.0}
    assert (t2i.mean_rank.value, t2i.median_rank.value) == (1.75, 1.5)


def test_ties_count_against_the_model_and_ignore_order():
    same = np.ones((5, 3), dtype=np.float32)
    result = evaluate_embeddings(same, same, ks=(1, 5), resamples=0)
    assert result.image_to_text.recall["R@1"].value == 0.0
    assert result.image_to_text.mean_rank.value == 5.0 and result.text_to_image.median_rank.value == 5.0
    rng = np.random.default_rng(0)
    img, txt = rng.normal(size=(30, 8)), rng.normal(size=(30, 8))
    img[7] = img[3]  # an exact tie between two gallery items
    perm = rng.permutation(30)
    base = ranks(img, txt)
    assert ranks(img[perm], txt[perm]).tolist() == base[perm].tolist()


def test_blocked_ranks_equal_full_matrix():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(37, 6)), rng.normal(size=(37, 6))
    assert ranks(q, g, block=5).tolist() == ranks_from_similarity(q @ g.T).tolist()


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    r = np.random.default_rng(2).integers(1, 50, size=200)
    a = summarize_ranks(r, resamples=1000, seed=3)
    b = summarize_ranks(r, resamples=1000, seed=3)
    c = summarize_ranks(r, resamples=1000, seed=4)
    assert a == b and a != c
    for iv in [*a.recall.values(), a.mean_rank, a.median_rank]:
        assert iv.low <= iv.value <= iv.high
    assert a.recall["R@10"].low < a.recall["R@10"].high  # a real spread, not a point


@pytest.mark.parametrize("shapes,message", [
    (((4, 8), (5, 8)), "pair up row by row"),
    (((4, 8), (4, 6)), "same dim"),
    (((8,), (8,)), "must be 2-D"),
])
def test_unpaired_embeddings_are_rejected(shapes, message):
    with pytest.raises(RetrievalError, match=message):
        evaluate_embeddings(np.ones(shapes[0]), np.ones(shapes[1]))


def test_cli_with_precomputed_embeddings(tmp_path, capsys):
    # image i matches caption i; image 1 sits between captions 1 and 2 (a tie for image 1,
    # but caption 1 and 2 each still find their own image first)
    img = np.eye(4, dtype=np.float32)
    txt = np.eye(4, dtype=np.float32)
    img[1] = [0, 1, 1, 0]
    np.save(tmp_path / "img.npy", img)
    np.save(tmp_path / "txt.npy", txt)
    out = tmp_path / "res" / "retrieval.json"
    rc = main(["eval", "retrieval", "--image-embeddings", str(tmp_path / "img.npy"),
               "--text-embeddings", str(tmp_path / "txt.npy"), "--json", str(out), "--resamples", "50"])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["n"] == 4 and data["resamples"] == 50
    assert data["image_to_text"]["recall"]["R@1"]["value"] == 0.75  # image 1: tie -> rank 2
    assert data["image_to_text"]["recall"]["R@5"]["value"] == 1.0
    assert data["text_to_image"]["recall"]["R@1"]["value"] == 1.0
    assert "image->text" in capsys.readouterr().out

    np.save(tmp_path / "short.npy", txt[:3])
    rc = main(["eval", "retrieval", "--image-embeddings", str(tmp_path / "img.npy"),
               "--text-embeddings", str(tmp_path / "short.npy")])
    assert rc == 1 and "(4, 4), text (3, 4)" in capsys.readouterr().err  # bad data in the files: exit 1


def test_cli_needs_a_model_or_embeddings(capsys):
    assert main(["eval", "retrieval", "--dataset", "x"]) == 2
    assert "give --dataset and --model" in capsys.readouterr().err
    assert main(["eval"]) == 2


def test_end_to_end_tiny_clip_on_carved_benchmark(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    out = tmp_path / "out"
    run_build([], out, benchmark=10, benchmark_seed=0)
    model = tiny_clip(tmp_path / "clip")
    res_path = tmp_path / "res.json"
    rc = main(["eval", "retrieval", "--dataset", str(out), "--config", "benchmark", "--split", "test",
               "--model", model, "--batch-size", "4", "--device", "cpu", "--json", str(res_path), "--no-progress",
               "--save-embeddings", str(tmp_path / "emb")])
    assert rc == 0
    res = json.loads(res_path.read_text())
    assert res["n"] == 10 and res["meta"]["model"] == model and res["meta"]["device"] == "cpu"
    # every number is what the saved embeddings give when ranked by hand (ties count against the model)
    images, texts = np.load(tmp_path / "emb" / "images.npy"), np.load(tmp_path / "emb" / "texts.npy")
    for direction, sim in (("image_to_text", images @ texts.T), ("text_to_image", texts @ images.T)):
        truth = np.diag(sim)
        ranks = np.array([1 + np.sum(np.delete(row, i) >= truth[i]) for i, row in enumerate(sim)])
        d = res[direction]
        assert d["recall"]["R@1"]["value"] == pytest.approx(np.mean(ranks <= 1))
        assert d["recall"]["R@5"]["value"] == pytest.approx(np.mean(ranks <= 5))
        assert d["mean_rank"]["value"] == pytest.approx(ranks.mean())

    # the same numbers as embedding the split by hand with the same model
    from pmc_hub.embed import ClipEncoder
    from pmc_hub.retrieval import embed_pairs, load_pairs

    enc = ClipEncoder.load(model, device="cpu")
    img, txt = embed_pairs(load_pairs(str(out), "benchmark", "test"), enc, batch_size=10, progress=False)
    again = evaluate_embeddings(img, txt, resamples=1000, seed=0)
    assert again.image_to_text.mean_rank.value == pytest.approx(res["image_to_text"]["mean_rank"]["value"])
    assert again.text_to_image.recall["R@1"].value == pytest.approx(res["text_to_image"]["recall"]["R@1"]["value"])
    assert "R@1" in format_table(again)

    # the saved embeddings reproduce the run without the model
    again_path = tmp_path / "again.json"
    assert main(["eval", "retrieval", "--image-embeddings", str(tmp_path / "emb" / "images.npy"),
                 "--text-embeddings", str(tmp_path / "emb" / "texts.npy"), "--json", str(again_path)]) == 0
    saved = json.loads(again_path.read_text())
    assert saved["image_to_text"] == res["image_to_text"] and saved["text_to_image"] == res["text_to_image"]


def test_missing_split_is_named(tmp_path):
    (tmp_path / "benchmark").mkdir()
    from pmc_hub.retrieval import load_pairs

    with pytest.raises(RetrievalError, match="no benchmark test shards"):
        load_pairs(str(tmp_path), "benchmark", "test")
