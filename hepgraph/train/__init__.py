"""hepgraph.train."""
