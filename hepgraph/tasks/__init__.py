"""hepgraph.tasks."""
