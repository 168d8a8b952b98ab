"""Caption splitting on real caption styles from the sample articles, and alignment of boxes
to subcaptions by reading order and position words. Expectations are written by hand."""
from pmc_hub.subfigures.align import LABEL_ORDER, POSITION, SINGLE, UNMATCHED, align, reading_order
from pmc_hub.subfigures.boxes import Box
from pmc_hub.subfigures.subcaptions import split_caption


def _pairs(caption):
    s = split_caption(caption)
    return s.style, [(sub.labels, sub.text) for sub in s.subcaptions]


def test_parenthesised_prefix_labels_with_a_shared_pair():
    # tests/data/samples/europepmc-2026 (rcm70073, fig 2), shortened
    style, pairs = _pairs("IMS‐MS experiments of HGB69 using 13‐m SLIM IMS vs. cyclic IMS. 2D IMS heatmaps from (A) 13‐m SLIM "
                          "IMS and (B) cyclic IMS experiments showing the arrival time distributions. (C,D) The corresponding "
                          "MS spectra from z = −1 and z = −2 areas.")
    assert style == "prefix"
    assert pairs == [(["a"], "13‐m SLIM IMS"),
                     (["b"], "cyclic IMS experiments showing the arrival time distributions."),
                     (["c", "d"], "The corresponding MS spectra from z = −1 and z = −2 areas.")]


def test_references_to_panels_are_not_labels():
    # pro70647 fig 1: "Panel (b) ... relative to (a)" refers back, it starts nothing
    s = split_caption("Model of plant LOX structure. (a) Global architecture of plant LOX includes two domains. (b) Active "
                      "site of plant LOXs is displayed. Panel (b) was rotated by 150° along the x axis, relative to (a).")
    assert s.preamble == "Model of plant LOX structure."
    assert s.labels == ["a", "b"]
    assert s.subcaptions[1].text.startswith("Active site of plant LOXs is displayed. Panel (b) was rotated")


def test_ranges_with_unicode_dashes_and_panel_prefix():
    # pro70647 fig 2 and rcm70102 fig 4
    s = split_caption("Kinetic saturation plots for (a) GmLOX1, (b) OsLOX1, (c) AtLOX1, and (d) SlLOXA. The solid lines "
                      "represent fit to (a) Michaelis–Menten and (b‐d) Hill equations.")
    assert [(x.labels, x.text) for x in s.subcaptions][:3] == [(["a"], "GmLOX1"), (["b"], "OsLOX1"), (["c"], "AtLOX1")]
    s = split_caption("LAP‐MALDI drift time‐versus‐m/z plots. Panel (A) data were acquired using a wave velocity of 414 m/s. "
                      "Panels (B)–(F) data were acquired using the IMS parameters.")
    assert [x.labels for x in s.subcaptions] == [["a"], ["b", "c", "d", "e", "f"]]
    assert s.subcaptions[1].text == "data were acquired using the IMS parameters."


def test_letter_close_paren_and_bare_letter_labels():
    # pro70647 fig 3: "A) ... and B) ..."
    assert _pairs("Arrhenius plots of A) GmLOX1 and B) AtLOX1 reactions.")[1] == [(["a"], "GmLOX1"), (["b"], "AtLOX1 reactions.")]
    # "A, ..." / "B. ..." at sentence starts, with a range "C-D,"
    assert _pairs("Summary. A, Western blot of X. B. Quantification of A. C-D, Images.")[1] == [
        (["a"], "Western blot of X."), (["b"], "Quantification of A."), (["c", "d"], "Images.")]


def test_labels_after_their_text():
    # cob70089 fig 1: "... trunk (a). ... blue (b)."
    s = split_caption("Images from Computed Tomography. Measurement site for epicardial fat at the level of the left coronary "
                      "artery trunk (a). After adjustment according to Hounsfield Unit density, with fat highlighted in blue (b).")
    assert s.style == "postfix" and s.preamble == "Images from Computed Tomography."
    assert [(x.labels, x.text) for x in s.subcaptions] == [
        (["a"], "Measurement site for epicardial fat at the level of the left coronary artery trunk"),
        (["b"], "After adjustment according to Hounsfield Unit density, with fat highlighted in blue")]


def test_title_glued_to_first_label_and_lowercase_labels():
    # elife-46472 fig 1 (pmc_hub/sample_data): "...fluid consumed.(a) MA consumption and (b) total volume..."
    s = split_caption("Knock-in of Taar1+ converts high MA intake to low MA intake.(a) MA consumption and (b) total volume "
                      "consumed, when MA was offered.")
    assert s.preamble == "Knock-in of Taar1+ converts high MA intake to low MA intake."
    assert [(x.labels, x.text) for x in s.subcaptions] == [(["a"], "MA consumption"), (["b"], "total volume consumed, when MA was offered.")]


def test_position_words():
    # elife-52882 fig3s2: "Upper figure : ... Lower figure : ..."
    s = split_caption("Control for retinal origin of klinotaxis.Upper figure : Testing klinotaxis with uniform illumination. "
                      "Lower figure : pvalues of two-sample t-tests.")
    assert s.style == "position"
    assert [(x.position, x.text) for x in s.subcaptions] == [("top", "Testing klinotaxis with uniform illumination."),
                                                          ("bottom", "pvalues of two-sample t-tests.")]


def test_caption_without_labels():
    # plosone-0091296 g001
    s = split_caption("Study locations.Papua New Guinea with details (insets) of Ahus Island, Manus Province.")
    assert s.style == "none" and s.subcaptions == []


# --- alignment ---------------------------------------------------------------------------------

def test_reading_order_rows_then_columns_with_uneven_rows_and_a_tall_panel():
    boxes = [Box(210, 110, 400, 200), Box(0, 0, 200, 200), Box(210, 0, 300, 95), Box(310, 2, 400, 97)]
    # the tall panel on the left spans both rows: it is read first, then the top row, then the bottom
    assert reading_order(boxes) == [1, 2, 3, 0]
    uneven = [Box(0, 105, 400, 200), Box(205, 3, 400, 100), Box(0, 0, 200, 98)]
    assert reading_order(uneven) == [2, 1, 0]


def test_boxes_take_subcaptions_by_label_order():
    split = split_caption("Title. (A) left image. (B) right image.")
    result = align([Box(210, 0, 400, 100), Box(0, 0, 200, 100)], split)
    assert [(a.box.x0, a.label, a.subcaption, a.method, a.confidence) for a in result] == [
        (0, "a", "left image.", LABEL_ORDER, 0.9), (210, "b", "right image.", LABEL_ORDER, 0.9)]


def test_extra_boxes_keep_the_full_caption_and_say_so():
    caption = "Title. (A) one. (B) two."
    result = align([Box(0, 0, 10, 10), Box(20, 0, 30, 10), Box(40, 0, 50, 10)], split_caption(caption))
    assert [a.method for a in result] == [LABEL_ORDER, LABEL_ORDER, UNMATCHED]
    assert result[0].confidence == 0.5  # 3 boxes, 2 labels
    assert result[2].subcaption == caption and result[2].confidence == 0.0 and result[2].label is None


def test_shared_label_pairs_map_to_consecutive_boxes():
    result = align([Box(x, 0, x + 10, 10) for x in (0, 20, 40)], split_caption("T. (A) one. (B,C) pair."))
    assert [(a.label, a.subcaption) for a in result] == [("a", "one."), ("b", "pair."), ("c", "pair.")]


def test_single_box_and_unlabelled_captions():
    assert align([Box(0, 0, 5, 5)], split_caption("Just a plot."))[0].method == SINGLE
    multi = align([Box(0, 0, 5, 5), Box(10, 0, 15, 5)], split_caption("Just plots."))
    assert {a.method for a in multi} == {UNMATCHED} and multi[0].subcaption == "Just plots."


def test_position_words_pick_boxes_by_geometry():
    split = split_caption("Two views. Bottom: the side view. Top: the front view.")
    result = align([Box(0, 120, 100, 200), Box(0, 0, 100, 100)], split)
    assert [(a.box.y0, a.subcaption, a.method) for a in result] == [(0, "the front view.", POSITION),
                                                                   (120, "the side view.", POSITION)]
