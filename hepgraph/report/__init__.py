"""hepgraph.report."""
