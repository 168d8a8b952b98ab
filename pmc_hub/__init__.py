"""pmc-hub: PubMed Central Open Access articles to Hugging Face datasets."""

__version__ = "0.1.0"
