"""``hepgraph models NAME``: one model's layers, parameters and activation sizes (rich table)."""

from __future__ import annotations

import json

import typer

from hepgraph.errors import ConfigError


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f}"


def print_summary(name: str, in_channels: int, events: int, hits: int, level: str | None,
                  depth: int, as_json: bool) -> None:
    """Build ``name`` with its default sizes and print :func:`hepgraph.models.summary.summarize`.

    Raises:
        ConfigError: ``level`` is not one the model supports.
    """
    from hepgraph.models import create_model, model_info
    from hepgraph.models.summary import summarize

    meta = model_info(name)
    levels = list(meta["levels"])
    level = level or levels[0]
    if level not in levels:
        raise ConfigError(f"--level `{level}` is not supported by `{name}`; use one of {', '.join(levels)}")
    model = create_model(name, in_channels=in_channels, level=level, out_channels=2)
    s = summarize(model, events=events, hits=hits)
    if as_json:
        typer.echo(json.dumps({
            "name": name, "family": meta["family"], "representation": meta["representation"],
            "level": level, "parameters": s.parameters, "trainable": s.trainable,
            "parameter_bytes": s.parameter_bytes, "activation_bytes": s.activation_bytes,
            "input": {"events": s.events, "hits": s.hits, "in_channels": in_channels},
            "output_shape": s.output_shape,
            "layers": [vars(lay) for lay in s.layers]}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    title = (f"{name} ({meta['family']}, {meta['representation']}), level {level}: "
             f"{s.parameters:,} parameters ({_mib(s.parameter_bytes)} MiB), input {s.events} events x "
             f"{hits} hits x {in_channels} features -> output {s.output_shape}")
    table = Table()
    for col, just in (("module", "left"), ("type", "left"), ("output shape", "left"),
                      ("parameters", "right"), ("output MiB", "right")):
        table.add_column(col, justify=just)
    hidden = 0
    for lay in s.layers:
        if lay.depth > depth:
            hidden += 1
            continue
        table.add_row("  " * lay.depth + lay.name.rsplit(".", 1)[-1], lay.kind,
                      "-" if lay.shape is None else str(tuple(lay.shape)),
                      f"{lay.parameters:,}" if lay.parameters else "", _mib(lay.activation_bytes))
    console = Console()
    console.width = max(console.width, 120)
    console.print(title, highlight=False, soft_wrap=True)
    console.print(table)
    console.print(f"activations: {_mib(s.activation_bytes)} MiB (outputs of the leaf modules, float32, "
                  f"one forward pass; a training step keeps about this for backward); "
                  f"{s.trainable:,} trainable parameters"
                  + (f"; {hidden} deeper modules not listed (--depth)" if hidden else ""), highlight=False)
