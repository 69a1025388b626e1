"""hepgraph.cluster."""
