"""The ``hepgraph`` command-line tool (typer)."""
