"""Scoring a router on labelled prompts: the dataset format, accuracy, macro-F1, under- and
over-routing and cost against the baselines, and ``claude-arch route eval|fit``."""
