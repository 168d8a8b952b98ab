"""pmc-hub: PubMed Central Open Access articles to Hugging Face datasets."""

__version__ = "0.1.0"

from . import torchvision_fix as _torchvision_fix  # noqa: E402

_torchvision_fix.install()  # before anything imports torchvision (see the module)
