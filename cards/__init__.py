"""Jinja2 templates of dataset cards and gate prompts (installed as the package data `pmc_hub.templates`)."""
