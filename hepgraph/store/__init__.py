"""hepgraph.store."""
