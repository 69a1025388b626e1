"""hepgraph.represent."""
