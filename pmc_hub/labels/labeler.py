"""The one labeler interface: ``labeler.label(rows) -> rows``, in batches, composed with `chain`."""
from __future__ import annotations

from itertools import islice
from typing import Any, Iterable, Iterator, Mapping

from .taxonomy import Taxonomy

LABEL_FIELDS = (
    "image_label_id", "image_cluster_id", "image_panel_type", "image_panel_subtype",
    "image_primary_label", "image_secondary_label", "image_label_source", "image_label_score",
)


class Labeler:
    """Base class: ``label`` batches the stream and calls ``label_batch`` on each batch. A labeler
    yields new dicts (input rows are not changed) with the label fields it knows set."""

    name = "labeler"
    batch_size = 256

    def label(self, rows: Iterable[dict]) -> Iterator[dict]:
        it = iter(rows)
        while batch := list(islice(it, self.batch_size)):
            yield from self.label_batch(batch)

    def label_batch(self, rows: list[dict]) -> list[dict]:
        raise NotImplementedError

    def for_thumbnails(self, thumbnails: Mapping[str, Any]) -> "Labeler":
        """This labeler for rows whose thumbnails (``image_key`` -> what `pmc_hub.media.inspect`
        made) are at hand; labelers that do not read thumbnails return themselves."""
        return self


def chain(rows: Iterable[dict], *labelers: Labeler) -> Iterator[dict]:
    """Run ``rows`` through each labeler in turn (later ones overwrite the fields they set)."""
    for labeler in labelers:
        rows = labeler.label(rows)
    yield from rows


def with_label(row: dict, taxonomy: Taxonomy, primary: str, secondary: list[str], source: str,
               score: float) -> dict:
    """A copy of ``row`` with the primary / secondary labels, their id, source and score."""
    out = dict(row)
    out.update(image_primary_label=primary, image_secondary_label=secondary,
               image_label_id=taxonomy.primary_named(primary).id,
               image_label_source=source, image_label_score=float(round(score, 4)))
    return out
