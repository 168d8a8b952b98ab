"""JSON Schemas of pmc-hub records, cards and policies (installed as the package data `pmc_hub.schemas`)."""
