"""Let torchvision import beside a CPU-only build of torch.

PyPI's torchvision wheels for Linux are CUDA builds. Installed beside the CPU build of torch (what
``pip install torch==2.13.0`` gives on machines without a GPU) their compiled ops cannot load,
and ``import torchvision`` then fails with "operator torchvision::nms does not exist". That breaks
open_clip (it imports torchvision's transforms) and transformers' image processors (they use
torchvision whenever it is installed), although neither needs the compiled ops: those serve
detection (``nms``, ``roi_align``), the transforms are plain Python.

`install` (called by the modules that load models: `pmc_hub.embed`, the subfigure detector) puts a finder in front of the import system that acts
once, on the first ``import torchvision``, with a CPU-only torch: if torchvision's compiled ops do
not load, it defines the schemas of the two ops whose fake kernels torchvision registers on import
(``nms``, ``qnms``), without kernels. torchvision then imports; its ``extension._has_ops()`` stays
False, so ``torchvision.ops.nms`` still raises torchvision's own error. With a CUDA torch, or a
torchvision whose ops load, nothing is changed.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


class _FirstImport(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):  # noqa: ANN001 - the importlib protocol
        if fullname == "torchvision":
            uninstall()
            _define_missing_ops()
        return None  # the regular finders do the import


_FINDER = _FirstImport()


def install() -> None:
    """Watch for the first ``import torchvision`` (nothing is imported now)."""
    if "torchvision" not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def _define_missing_ops() -> None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.origin or importlib.util.find_spec("torch") is None:
        return
    import torch

    if torch.version.cuda is not None:
        return
    libraries = sorted(Path(spec.origin).parent.glob("_C.*")) + sorted(Path(spec.origin).parent.glob("_C*.so"))
    try:
        torch.ops.load_library(str(libraries[0]))
        return  # the ops load: this torchvision matches this torch
    except (IndexError, OSError, RuntimeError):
        pass
    for op in ("nms", "qnms"):
        if not torch._C._dispatch_has_kernel(f"torchvision::{op}") and not _defined(op):
            torch.library.define(f"torchvision::{op}", _SCHEMA)


def _defined(op: str) -> bool:
    import torch

    try:
        torch._C._dispatch_find_schema_or_throw(f"torchvision::{op}", "")
        return True
    except RuntimeError:
        return False
