"""Optional execution engines for the per-article stage of a build (the default is local processes)."""
