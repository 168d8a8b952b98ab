"""Dataset cards: metadata validity, configs vs files, counts, gating, field table, CLI."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import datasets
import jsonschema
import pytest
import yaml
from huggingface_hub import DatasetCard

import pyarrow.parquet as pq

from pmc_hub import cards
from pmc_hub.cli import main as cli_main
from pmc_hub.config import ShardLayout
from pmc_hub.output import Manifest, OwnedFile, read_manifest, shard_path, write_manifest
from pmc_hub.report import BuildReport
from pmc_hub.writers import write_file
from pmc_hub.resources import sample_dir
from pmc_hub.schema import features, field_docs, load_schema, to_table, validate

ELIFE = sample_dir() / "elife-30274-v1"


def _figure_row(i: int, category: str, license_code: str) -> dict:
    name = sorted(ELIFE.glob("*.jpg"))[i % 5].name
    data = (ELIFE / name).read_bytes()
    row = {
        "image": {"bytes": data, "path": name}, "caption": f"Caption {i}.", "image_key": f"PMC{i}/fig{i}/{name}",
        "image_file_name": name, "image_hash": hashlib.sha256(data).hexdigest(), "image_phash": "0" * 16,
        "image_format": "JPEG", "image_size": {"width": 10, "height": 10},
        "image_label_id": None, "image_cluster_id": None, "image_panel_type": None, "image_panel_subtype": None,
        "image_primary_label": None, "image_secondary_label": None, "image_label_source": None,
        "image_label_score": None, "image_set": [f"fig{i}"], "image_context": [], "figure_id": f"fig{i}",
        "figure_label": f"Figure {i}", "article_accession_id": f"PMC{i}", "article_pmid": None, "article_doi": None,
        "article_title": "T", "article_journal": "J", "article_date": "2020", "article_abstract": None,
        "article_mesh_terms": None, "article_keywords": [], "article_subject": [], "article_reference_ids": [],
        "article_reference_count": 0, "article_reference_list": [], "article_citation": None,
        "article_license": license_code, "license_url": None, "license_category": category,
    }
    return validate("figure", row, key=row["image_key"])


RELEASE = "2026-01"


def _write_config(out: Path, config: str, rows: list[dict], shards: int = 1) -> None:
    """Shards of a config as a build writes them (release layout), recorded in the folder's manifest."""
    per = -(-len(rows) // shards) if rows else 0
    files = {}
    for k in range(shards):
        rel = shard_path(config, RELEASE, "train", k, 9000)
        part = rows[k * per:(k + 1) * per]
        if part:
            w = write_file(out, rel, "figure", [to_table(part, "figure")], ShardLayout())
            files[rel] = w.owned()
        else:  # an empty shard: a config with no rows
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(to_table([], "figure"), out / rel)
            files[rel] = OwnedFile((out / rel).stat().st_size, "0" * 64, 0, 0)
    manifest = read_manifest(out) or Manifest(releases=[RELEASE], complete=True)
    manifest.files.update(files)
    write_manifest(out, manifest)


def _card(out: Path, report: dict) -> Path:
    """Render the card of ``out`` for ``report`` (as the build does) and write README.md."""
    path = out / "README.md"
    path.write_text(cards.render_card(out, report, read_manifest(out).files), encoding="utf-8")
    return path


@pytest.fixture
def built(tmp_path) -> tuple[Path, dict]:
    """A folder as a build writes it: commercial (2 shards), noncommercial, an empty other; the report
    in the build's own shape."""
    out = tmp_path / "out"
    commercial = [_figure_row(i, "commercial", "CC BY 4.0" if i % 2 else "CC0") for i in range(5)]
    noncommercial = [_figure_row(10 + i, "noncommercial", "CC BY-NC 4.0") for i in range(2)]
    _write_config(out, "commercial", commercial, shards=2)
    _write_config(out, "noncommercial", noncommercial)
    _write_config(out, "other", [])
    report = BuildReport(articles_in=9, figures_in=8, configs={"commercial": {"train": 5}, "noncommercial": {"train": 2}},
                         licenses={"commercial": 5, "noncommercial": 2},
                         license_codes={"commercial": {"CC BY 4.0": 2, "CC0": 3}, "noncommercial": {"CC BY-NC 4.0": 2}},
                         skip_counts={"no caption": 1},
                         skipped=[{"article": "PMC99", "reason": "no caption", "detail": "", "figure": "fig1"}])
    report.write(out)
    return out, json.loads(report.to_json())


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert m, "card has no YAML front matter"
    return yaml.safe_load(m.group(1))


def test_card_metadata_validates_and_parses_with_hub(built):
    out, report = built
    path = _card(out, report)
    meta = _front_matter(path)
    jsonschema.Draft202012Validator(load_schema("card")).validate(meta)
    card = DatasetCard.load(path)
    assert card.data.pretty_name == meta["pretty_name"]
    assert card.data.to_dict()["configs"] == meta["configs"]


def test_configs_match_files_and_empty_config_left_out(built):
    out, report = built
    meta = _front_matter(_card(out, report))
    by_name = {c["config_name"]: c for c in meta["configs"]}
    assert set(by_name) == {"commercial", "noncommercial"}  # `other` has no rows
    assert by_name["commercial"]["default"] is True
    assert "default" not in by_name["noncommercial"]
    for name, cfg in by_name.items():
        for df in cfg["data_files"]:
            matched = sorted(out.glob(df["path"]))
            assert matched == sorted((out / name).glob("*/*.parquet")), df
    assert len(sorted(out.glob(by_name["commercial"]["data_files"][0]["path"]))) == 2


def test_counts_match_report_files_and_load_dataset(built, tmp_path, monkeypatch):
    out, report = built
    meta = _front_matter(_card(out, report))
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert infos["commercial"]["splits"][0]["num_examples"] == 5
    assert infos["noncommercial"]["splits"][0]["num_examples"] == 2
    assert meta["size_categories"] == ["n<1K"]
    body = (out / "README.md").read_text()
    assert re.search(r"\| `commercial` \(default\) \| parquet \| train \| 5 \|", body)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    default = datasets.load_dataset(str(out), split="train")
    assert len(default) == 5 and default.features == features("figure")
    nc = datasets.load_dataset(str(out), "noncommercial", split="train")
    assert set(nc["license_category"]) == {"noncommercial"}
    stream = datasets.load_dataset(str(out), "commercial", split="train", streaming=True)
    assert next(iter(stream))["caption"].startswith("Caption")


def test_report_count_disagreeing_with_files_is_an_error(built):
    out, report = built
    report["configs"]["commercial"]["train"] = 6
    with pytest.raises(cards.CardError, match=r"commercial.*6 rows.*hold 5"):
        _card(out, report)


def test_gating_metadata_present(built):
    out, report = built
    meta = _front_matter(_card(out, report))
    prompt = meta["extra_gated_prompt"]
    for word in ("commercial", "noncommercial", "other", "license of each item", "re-identify", "clinical"):
        assert word in prompt
    assert meta["extra_gated_fields"] == cards.DEFAULT_GATE_FIELDS
    assert meta["extra_gated_heading"] and meta["extra_gated_button_content"]


def test_license_metadata_lists_present_licenses(built):
    out, report = built
    meta = _front_matter(_card(out, report))
    assert meta["license"] == ["cc-by-4.0", "cc0-1.0", "cc-by-nc-4.0"]
    body = (out / "README.md").read_text()
    assert "CC BY-NC 4.0 (2)" in body and "CC0 (3)" in body


def test_unknown_license_gives_other_with_name_and_link(built):
    out, report = built
    _write_config(out, "other", [_figure_row(20, "other", "TDM")])
    report["configs"]["other"] = {"train": 1}
    report["license_codes"]["other"] = {"TDM": 1}
    meta = _front_matter(_card(out, report))
    assert "other" in meta["license"]
    assert meta["license_name"] and meta["license_link"].startswith("https://")
    assert [c["config_name"] for c in meta["configs"]] == ["commercial", "noncommercial", "other"]
    assert "TDM (1)" in (out / "README.md").read_text()


def test_field_table_matches_schema(built):
    out, report = built
    body = _card(out, report).read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \| (yes|no) \|", body, re.M)
    docs = field_docs("figure")
    assert [(r[0], r[1].strip(), r[2]) for r in rows] == [
        (d["name"], d["type"], "yes" if d["nullable"] else "no") for d in docs]
    assert len(rows) == len(load_schema("figure")["properties"])


def test_gate_fields_file_via_cli(built, tmp_path):
    out, _ = built
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        "Affiliation: text\nCountry: country\nStart date: date\nI agree to the terms: checkbox\n"
        "Intended use:\n  type: select\n  options: [Research, Education]\n")
    assert cli_main(["card", str(out), "--gate-fields", str(gate)]) == 0
    meta = _front_matter(out / "README.md")
    assert meta["extra_gated_fields"] == {
        "Affiliation": "text", "Country": "country", "Start date": "date_picker", "I agree to the terms": "checkbox",
        "Intended use": {"type": "select", "options": ["Research", "Education"]}}
    DatasetCard.load(out / "README.md")


def test_bad_gate_field_type_names_the_field(tmp_path):
    gate = tmp_path / "gate.yaml"
    gate.write_text("Affiliation: txet\n")
    with pytest.raises(cards.CardError, match=r"'Affiliation'.*'txet'"):
        cards.load_gate_fields(gate)
    gate.write_text("Use:\n  type: select\n")
    with pytest.raises(cards.CardError, match=r"'Use'.*options"):
        cards.load_gate_fields(gate)


def test_cli_on_a_folder_that_is_no_build_fails_clearly(tmp_path, capsys):
    assert cli_main(["card", str(tmp_path)]) == 1
    assert "not a finished pmc-hub build" in capsys.readouterr().err


def test_invalid_metadata_is_rejected():
    with pytest.raises(cards.CardError, match="size_categories"):
        cards.validate_metadata({"pretty_name": "x", "license": "other", "task_categories": ["image-to-text"],
                                 "tags": [], "size_categories": ["lots"], "configs": [], "dataset_info": []})


def test_card_of_a_real_build(mixed_license_corpus, tmp_path):
    from conftest import run_build

    out = tmp_path / "built"
    run_build([mixed_license_corpus], out)
    report = json.loads((out / "build_report.json").read_text())
    meta = _front_matter(out / "README.md")  # written by the build through cards.write_card
    jsonschema.Draft202012Validator(load_schema("card")).validate(meta)
    listed = {c["config_name"] for c in meta["configs"]}
    non_empty = {name for name, splits in report["configs"].items() if sum(splits.values()) > 0}
    assert listed == non_empty and {"commercial", "noncommercial", "articles"} <= listed
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    for name in listed:
        assert infos[name]["splits"][0]["num_examples"] == report["configs"][name]["train"]
    assert [f["name"] for f in infos["articles"]["features"]] == list(features("article"))
    assert {"cc-by-2.0", "cc-by-nc-sa-3.0"} <= set(meta["license"])
    # every article of a config appears under one license code, those known only from text as `unknown`
    body = (out / "README.md").read_text()
    for name in listed - {"articles"}:
        cell = re.search(rf"^\| `{name}`[^\n]*\| ([^|\n]*) \|$", body, re.M).group(1)
        assert sum(int(n) for n in re.findall(r"\((\d+)\)", cell)) == report["licenses"][name], cell
    assert "PDM (1)" in body and "CC BY-NC-SA 3.0 (1)" in body
    for name in listed - {"articles"}:
        ds = datasets.load_dataset(str(out), name, split="train")
        assert set(ds["license_category"]) == {name}


def test_webdataset_folder_gets_tar_configs_and_mixing_formats_is_an_error(built, tmp_path):
    from pmc_hub import wds as webdataset
    from pmc_hub.output import owned_file

    wds = tmp_path / "wds"
    with webdataset.open_writer(wds, "commercial") as writer:
        writer.write_all(_figure_row(i, "commercial", "CC0") for i in range(3))
    write_manifest(wds, Manifest({p: owned_file(wds / p) for p in writer.close()}, [], complete=True))
    meta = _front_matter(_card(wds, {"configs": {"commercial": {"train": 3}}}))
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "commercial/train-*.tar"}]
    ds = datasets.load_dataset(str(wds), "commercial", split="train")
    assert len(ds) == 3 and ds[0]["txt"] == "Caption 0."

    out, report = built
    with webdataset.open_writer(out, "commercial") as writer:
        writer.write_all(_figure_row(i, "commercial", "CC0") for i in range(3))
    manifest = read_manifest(out)
    manifest.files.update({p: owned_file(out / p) for p in writer.close()})
    write_manifest(out, manifest)
    with pytest.raises(cards.CardError, match="both Parquet and WebDataset"):
        _card(out, report)
