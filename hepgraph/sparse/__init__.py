"""hepgraph.sparse."""
