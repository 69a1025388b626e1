"""hepgraph.models."""
