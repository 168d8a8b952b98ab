"""Subfigure extraction: compound figures -> subfigure boxes -> subfigure-subcaption rows.

Modules: `boxes` (the Box type), `synthetic` (generated compound figures with exact boxes),
`classical` (CPU splitter, the default detector), `detector` (transformers object detector and
`load_detector`), `metrics` (ImageCLEF accuracy, precision/recall, AP), `subcaptions`
(caption -> per-panel subcaptions), `align` (boxes <-> subcaptions), `records` (subfigure rows),
`cli` (`pmc-hub eval subfigures`).
"""
