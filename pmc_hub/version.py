"""The pmc-hub version (its own module, so every other module can read it without importing the package API)."""

__version__ = "0.1.0"
