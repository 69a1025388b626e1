"""hepgraph.metrics."""
