"""Labelers: caption rules on real captions, panel layout, zero-shot CLIP and embedding clusters
with tiny random models loaded through from_pretrained."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from figure_rows import sample_rows
from pmc_hub.labels import (CHART_CUE_SCORE, ClusterLabeler, ClusterLabelError, RuleLabeler, SubfigurePanelLabeler, ZeroShotLabeler,
                            chain, cluster_label_template, fit_clusters, kmeans, load_cluster_labels, load_taxonomy,
                            panel_layout)
from pmc_hub.resources import sample_dir
from pmc_hub.schema import validate
from tiny_models import tiny_clip, tiny_vit

SAMPLES = Path(__file__).parent / "data" / "samples"
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def real_caption(path: Path, fig_id: str) -> str:
    """The caption text of <fig id=fig_id>: title and paragraphs, whitespace collapsed."""
    fig = next(f for f in etree.parse(str(path), _SAFE).iter("{*}fig") if f.get("id") == fig_id)
    parts = [" ".join("".join(el.itertext()).split()) for el in fig.find("{*}caption")]
    return " ".join(p for p in parts if p)


# (file, fig id, primary, secondary that must be present, panel type) - checked by reading each caption.
REAL = [
    ("europepmc-2026/PMC13261293.xml", "vms371021-fig-0001", "Clinical Imaging", "computerized tomography", "multiple"),
    ("oai-pmh/PMC7500000.xml", "Fig1", "Clinical Imaging", "computerized tomography", None),
    ("oai-pmh/PMC10777901.xml", "cancers-16-00233-f001", "Clinical Imaging", "nuclear medicine", "multiple"),
    ("europepmc-2026/PMC13243813.xml", "liv70733-fig-0001", "Plots and Charts", "Kaplan-Meier curve", "multiple"),
    ("oai-pmh/PMC7500000.xml", "Fig2", "Microscopy", "histopathology", "multiple"),
    ("oai-pmh/PMC6000000.xml", "Fig2", "Microscopy", "histopathology", "multiple"),
    ("PMC3902907/PMC3902907.nxml", "gkt903-F1", "Microscopy", "fluorescence microscopy", "multiple"),
    ("PMC534114/PMC534114.nxml", "F1", "Immuno Assays", "western blot", "multiple"),
    ("PMC3460867/PMC3460867.nxml", "pone-0046493-g001", "Chemical Structures", "chemical structure", "multiple"),
    ("PMC4222443/PMC4222443.nxml", "Fig1", "Plots and Charts", "scatter plot", None),
    ("PMC7289599/PMC7289599.nxml", "fig1s1", "Plots and Charts", "heatmap", "multiple"),
    ("PMC3441633/PMC3441633.nxml", "pone-0045360-g009", "Illustrative Diagrams", "schematic", None),
    (sample_dir() / "plosone-0091296/plosone-0091296.xml", "pone-0091296-g001", "Maps", "geographic map", None),
    (sample_dir() / "elife-30274-v1/elife-30274-v1.xml", "fig2s1", "Plots and Charts", "box plot", "multiple"),
    (sample_dir() / "elife-30274-v1/elife-30274-v1.xml", "fig1", "Immuno Assays", "western blot", "multiple"),
]


@pytest.fixture(scope="module")
def rules() -> RuleLabeler:
    return RuleLabeler()


@pytest.mark.parametrize("path,fig_id,primary,secondary,panel", REAL, ids=[r[1] for r in REAL])
def test_rules_label_real_captions(rules, path, fig_id, primary, secondary, panel):
    row = rules.label_row({"caption": real_caption(SAMPLES / path, fig_id), "image_context": []})
    assert row["image_primary_label"] == primary
    assert secondary in row["image_secondary_label"]
    assert row.get("image_panel_type") == panel
    assert row["image_label_source"] == "rules"
    assert 0 < row["image_label_score"] <= 1
    assert row["image_label_id"] == load_taxonomy().primary_named(primary).id


def test_celltracker_ct_green_is_not_computed_tomography(rules):
    caption = real_caption(SAMPLES / "oai-pmh/PMC10400000.xml", "JCS260419F2")
    assert "CT Green" in caption
    row = rules.label_row({"caption": caption, "image_context": []})
    assert row["image_primary_label"] != "Clinical Imaging"
    assert "computerized tomography" not in (row["image_secondary_label"] or [])


def test_plotted_statistics_without_a_named_chart_type_give_a_weak_chart_label(rules):
    # "CVs (coefficients of variation)" and "SDs" must not read as voltammetry / anything else;
    # means, a regression line and fitted curves still say it is a chart.
    caption = real_caption(SAMPLES / "PMC3166277/PMC3166277.nxml", "F3")
    row = rules.label_row({"caption": caption, "image_context": []})
    assert row["image_primary_label"] == "Plots and Charts" and row["image_secondary_label"] == []
    assert row["image_label_score"] == CHART_CUE_SCORE
    assert row["image_panel_type"] == "multiple"


def test_caption_without_modality_or_statistics_stays_unlabelled(rules):
    row = rules.label_row({"caption": "Personal Income Tax burden by income for selected individual types.",
                           "image_context": []})
    assert row.get("image_primary_label") is None and row.get("image_label_score") is None


@pytest.mark.parametrize("caption,expected", [
    # SEM = standard error (not microscopy), ACT is a word; the means make it a weak chart label
    ("Data are mean ± SEM of three ACT experiments.", "Plots and Charts"),
    ("CTRL and Ct values of qPCR.", None),
    ("Representative PET/CT of a patient.", "Clinical Imaging"),
    ("Brain mri of a patient.", None),  # abbreviations are case-sensitive
    ("Brain MRI of a patient.", "Clinical Imaging"),
    ("SEM images of the scaffold.", "Microscopy"),
])
def test_abbreviations_need_case_and_token_boundaries(rules, caption, expected):
    assert rules.label_row({"caption": caption, "image_context": []}).get("image_primary_label") == expected


def test_inline_reference_text_counts_but_less_than_the_caption(rules):
    row = rules.label_row({"caption": "Patient 3 at follow-up.", "image_context": ["The MRI (Figure 2) showed a lesion."]})
    assert row["image_primary_label"] == "Clinical Imaging"
    both = rules.label_row({"caption": "Western blot of lysates.", "image_context": ["The MRI (Figure 2) showed a lesion."]})
    assert both["image_primary_label"] == "Immuno Assays"
    assert both["image_secondary_label"] == ["western blot", "magnetic resonance"]
    assert both["image_label_score"] == pytest.approx(2.0 / 2.5)


def test_labeler_streams_batches_and_keeps_rows_valid():
    rows = sample_rows()[:5]
    rows[0]["caption"] = "Kaplan-Meier survival curves. (A) Overall survival. (B) Relapse-free survival."
    labeler = RuleLabeler(batch_size=2)
    out = list(labeler.label(iter(rows)))
    assert [r["image_key"] for r in out] == [r["image_key"] for r in rows]
    assert out[0]["image_primary_label"] == "Plots and Charts" and out[0]["image_panel_type"] == "multiple"
    assert rows[0]["image_primary_label"] is None  # input rows are not mutated
    for r in out:
        validate("figure", r, r["image_key"])


@pytest.mark.parametrize("boxes,expected", [
    ([(0, 0, 10, 10)], ("single", "single")),
    ([(0, 0, 10, 10), (12, 1, 20, 9), (22, 0, 30, 10)], ("multiple", "row")),
    ([(0, 0, 10, 10), (0, 12, 10, 20)], ("multiple", "column")),
    ([(0, 0, 10, 10), (12, 0, 20, 10), (0, 12, 10, 20), (12, 12, 20, 20)], ("multiple", "grid")),
    ([(0, 0, 20, 10), (0, 12, 10, 20), (12, 12, 20, 20)], ("multiple", "irregular")),
])
def test_panel_layout_from_subfigure_boxes(boxes, expected):
    assert panel_layout(boxes) == expected


def test_subfigure_panels_override_caption_guess_and_keep_label():
    row = sample_rows()[0]
    row["caption"] = "Western blot of lysates."
    boxes = {row["image_key"]: [(0, 0, 10, 10), (12, 0, 20, 10)]}
    out = next(chain([row], RuleLabeler(), SubfigurePanelLabeler(boxes)))
    assert (out["image_panel_type"], out["image_panel_subtype"]) == ("multiple", "row")
    assert out["image_primary_label"] == "Immuno Assays" and out["image_label_source"] == "rules"
    untouched = next(SubfigurePanelLabeler({}).label([row]))
    assert untouched["image_panel_type"] is None
    counted = list(SubfigurePanelLabeler(lambda r: 3 if r is row else 1).label([row, dict(row, image_key="x")]))
    assert [(r["image_panel_type"], r["image_panel_subtype"]) for r in counted] == [("multiple", None), ("single", "single")]


def test_taxonomy_has_16_documented_primaries_with_unique_names():
    tax = load_taxonomy()
    assert len(tax.primary) == 16
    names = [s.name for p in tax.primary for s in p.secondary]
    assert len(names) == len(set(names))
    doc = (Path(__file__).parents[1] / "docs" / "taxonomy.md").read_text()
    for p in tax.primary:
        assert p.name in doc
        cues = [c for c in p.cues] + [t for s in p.secondary for t in (*s.terms, *s.abbreviations)]
        for cue in cues:  # the docs' class tables list every cue the rules use
            assert "`" + cue.replace("|", "\\|") + "`" in doc, cue
    assert tax.panel_subtypes["multiple"] == ("row", "column", "grid", "irregular")


def assert_zero_shot_follows_the_model(labeler: ZeroShotLabeler, rows: list[dict]) -> None:
    """Each label is what the model says, computed here independently of the labeler: the primary
    class whose prompt the image matches best, scored with its softmax probability over all
    primary prompts (at the model's logit scale), and the best-matching secondary prompt under it."""
    from pmc_hub.embed import row_image

    tax = labeler.taxonomy
    encoder = labeler.encoder
    images = encoder.encode_images([row_image(r) for r in rows])
    prompts = encoder.encode_texts([labeler.template.format(p.prompt) for p in tax.primary])
    logits = encoder.logit_scale * images @ prompts.T
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    out = list(labeler.label(rows))
    for row, image, p in zip(out, images, probs):
        best = tax.primary[int(np.argmax(p))]
        assert row["image_primary_label"] == best.name and row["image_label_id"] == best.id
        assert row["image_label_score"] == pytest.approx(float(p.max()), abs=1e-4)
        second = encoder.encode_texts([labeler.template.format(s.prompt) for s in best.secondary]) @ image
        assert row["image_secondary_label"] == [best.secondary[int(np.argmax(second))].name]
        assert row["image_label_source"] == f"zero-shot:{labeler.model}"
        validate("figure", row, row["image_key"])
    # a random model's scores stay close to uniform, but they are not all the same class
    assert len({r["image_primary_label"] for r in out}) >= 1


def test_zero_shot_labels_with_tiny_clip_from_disk(tmp_path):
    model = tiny_clip(tmp_path / "clip")
    rows = sample_rows()[:6]
    one = ZeroShotLabeler(model, batch_size=1, device="cpu")
    assert_zero_shot_follows_the_model(one, rows)
    many = list(ZeroShotLabeler(model, batch_size=4, device="cpu").label(rows))
    for a, b in zip(one.label(rows), many):  # batching changes nothing
        assert a["image_primary_label"] == b["image_primary_label"]
        assert a["image_label_score"] == pytest.approx(b["image_label_score"], abs=1e-4)


def test_kmeans_recovers_separated_groups_deterministically():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal([5, 0, 0], 0.1, (20, 3)), rng.normal([0, 5, 0], 0.1, (20, 3)),
                        rng.normal([0, 0, 5], 0.1, (20, 3))])
    c1, a1 = kmeans(x, 3, seed=7)
    c2, a2 = kmeans(x, 3, seed=7)
    assert np.array_equal(a1, a2) and np.allclose(c1, c2)
    groups = [set(a1[i * 20:(i + 1) * 20]) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3
    with pytest.raises(ValueError, match="k="):
        kmeans(x[:2], 3)


def test_cluster_labeler_with_tiny_vit_and_maintainer_file(tmp_path):
    model = tiny_vit(tmp_path / "vit")
    rows = sample_rows()[:8]
    centroids = fit_clusters(rows, model, k=2, seed=0, device="cpu")
    assert centroids.shape[0] == 2
    unnamed = list(ClusterLabeler(model, centroids, device="cpu").label(rows))
    ids = [r["image_cluster_id"] for r in unnamed]
    assert set(ids) == {0, 1}
    assert all(r["image_primary_label"] is None for r in unnamed)

    template = cluster_label_template(unnamed)
    assert sorted(template["clusters"]) == [0, 1] and template["clusters"][0]["examples"]
    label_file = tmp_path / "clusters.yaml"
    label_file.write_text("clusters:\n  0: {primary: Microscopy, secondary: [fluorescence microscopy]}\n")
    labeler = ClusterLabeler(model, centroids, load_cluster_labels(label_file), device="cpu", batch_size=3)
    out = list(labeler.label(rows))
    assert [r["image_cluster_id"] for r in out] == ids
    for r in out:
        if r["image_cluster_id"] == 0:
            assert r["image_primary_label"] == "Microscopy"
            assert r["image_secondary_label"] == ["fluorescence microscopy"]
            assert r["image_label_id"] == load_taxonomy().primary_named("Microscopy").id
            assert r["image_label_source"].startswith("clusters:")
            validate("figure", r, r["image_key"])
        else:
            assert r["image_primary_label"] is None


@pytest.mark.parametrize("text,reason", [
    ("clusters:\n  4: {primary: Microscopes}\n", "cluster 4: 'Microscopes' is not a primary class"),
    ("clusters:\n  2: {primary: Microscopy, secondary: [bar plot]}\n", "cluster 2: 'bar plot' is not a secondary class"),
    ("clusters:\n  x: {primary: Microscopy}\n", "cluster x: cluster id must be an integer"),
    ("clusters:\n  1: {secondary: [heatmap]}\n", "cluster 1: needs a 'primary'"),
    (json.dumps({"labels": {}}), "expected a mapping under 'clusters'"),
])
def test_bad_cluster_label_file_names_cluster_and_reason(tmp_path, text, reason):
    path = tmp_path / "labels.yaml"
    path.write_text(text)
    with pytest.raises(ClusterLabelError, match=reason):
        load_cluster_labels(path)


def test_custom_taxonomy_is_checked(tmp_path):
    from pmc_hub.labels import TaxonomyError

    raw = json.loads((Path(__file__).parents[1] / "schemas" / "taxonomy.json").read_text())
    raw["primary"][0]["secondary"][0]["terms"] = [r"\Wbar"]
    bad = tmp_path / "taxonomy.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(TaxonomyError, match="bar plot: term .* lowercased text"):
        RuleLabeler(load_taxonomy(bad))
    raw["primary"][0]["secondary"][0]["terms"] = [r"\w+ plots"]  # the one-pass scan indexes first characters
    bad.write_text(json.dumps(raw))
    with pytest.raises(TaxonomyError, match="must start with a known character"):
        RuleLabeler(load_taxonomy(bad))
    del raw["primary"][3]["id"]
    bad.write_text(json.dumps(raw))
    with pytest.raises(TaxonomyError, match="not a valid taxonomy"):
        load_taxonomy(bad)


@pytest.mark.parametrize("caption,expected", [
    ("Mean (n = 5) of x (x-axis) versus y (y-axis).", None),
    ("Only one panel (A) shown.", None),
    ("Vitamin A, B12 and folate levels.", None),
    ("Cells were treated. A total of 5 mice. B cells expanded.", None),
    ("Hepatitis B, C and E prevalence.", None),
    ("(A–C) Growth; (D) death.", "multiple"),
    ("Histology of lung. a Control. b Infected.", "multiple"),
    ("a, b Eight-week-old mice.", "multiple"),
    # BMC / Springer style: a capital letter and a space before the panel's first word
    ("Identification of DEGs and their function. A Functional-validated DEGs. B The overlap.", "multiple"),
    ("A The bar chart displays gene sets. B Significant pathways were shown.", "multiple"),
    ("Results. A Western blot of lysates. The loading control is shown.", None),
])
def test_panel_letters_need_two_real_panel_labels(caption, expected):
    from pmc_hub.labels import caption_panel_type

    assert caption_panel_type(caption) == expected


@functools.lru_cache(maxsize=1)
def _reference_patterns() -> tuple:
    """The cues of the default taxonomy as two big alternations and an exclusion pattern."""
    from pmc_hub.labels.rules import text_rules

    taxonomy = load_taxonomy()
    terms, abbrs, excludes = [], [], []
    for i, (p, s) in enumerate(text_rules(taxonomy).classes):
        cls = taxonomy.secondary_of(p, s)
        if cls.terms:
            terms.append(f"(?P<g{i}>" + "|".join(t.lower() for t in cls.terms) + ")")
        if cls.abbreviations:
            abbrs.append(f"(?P<g{i}>" + "|".join(cls.abbreviations) + ")")
        excludes += cls.exclude
    return (re.compile("|".join(re.escape(e) for e in excludes)),
            re.compile(r"(?<!\w)(?:" + "|".join(terms) + r")(?!\w)"),
            re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(abbrs) + r")(?![A-Za-z0-9])"))


def reference_first_positions(text: str) -> dict[int, int]:
    """What the cue scan must return, the slow obvious way: one big alternation per kind of cue."""
    exclude, terms, abbrs = _reference_patterns()
    text = exclude.sub(lambda m: " " * len(m.group(0)), text)
    first: dict[int, int] = {}
    for pattern, subject in ((terms, text.lower()), (abbrs, text)):
        for m in pattern.finditer(subject):
            i = int(m.lastgroup[1:])
            first[i] = min(first.get(i, m.start()), m.start())
    return first


def test_the_one_pass_cue_scan_finds_what_one_big_regex_finds():
    from pmc_hub.jats import parse
    from pmc_hub.labels.rules import text_rules

    rules = text_rules(load_taxonomy())
    texts = []
    for path in sorted(SAMPLES.rglob("*.*xml")) + sorted(sample_dir().glob("*/*.xml")):
        try:
            article = parse(path.read_bytes())
        except Exception:  # noqa: BLE001 - some samples are deliberately broken
            continue
        texts += [t for f in article.figures for t in (f.caption, " ".join(f.contexts))]
    assert len(texts) > 300
    for text in texts + ["PET/CT and MRI; CT Green; H&E stain; SEM images", "Kaplan–Meier curves, ROC; FESEM", ""]:
        assert rules.first_positions(text) == reference_first_positions(text)


@given(st.lists(st.sampled_from(["western blot", "Western", "blot", "CT", "ACT", "PET/CT", "MRI", "mri", "SEM images",
                                  "± SEM", "bar graph", "graphs", "heat map", "heatmaps", "Venn", "H&E", "HE stain",
                                  "confocal", "X-ray", "x-rays image", "CT Green", "flow cytometry", "RMSD", "MD simulation",
                                  "(A)", "a", ",", ".", " ", "and", "of"]), max_size=25))
def test_the_cue_scan_agrees_with_one_big_regex_on_any_mix(words):
    text = " ".join(words)
    assert RuleLabeler()._rules.first_positions(text) == reference_first_positions(text)
