"""``python -m hepgraph`` (used by ``torchrun -m hepgraph``)."""

from __future__ import annotations

from hepgraph.cli.main import app

if __name__ == "__main__":
    app()
