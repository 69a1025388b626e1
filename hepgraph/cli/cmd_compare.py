"""``hepgraph compare``: train several models on the same events and compare them honestly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from hepgraph.cli.options import SetOption, handle_errors
from hepgraph.cli.progress import CompareProgress


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command."""
    app.command("compare", no_args_is_help=True)(compare)


def _floats(text: str | None, flag: str) -> list[float]:
    from hepgraph.errors import ConfigError

    if not text:
        return []
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{flag} `{text}` is not a comma-separated list of numbers; "
                          f"e.g. {flag} 48,24,12") from None


def parse_model_sets(items: list[str] | None) -> dict[str, list[str]]:
    """``MODEL.key=value`` items -> ``{MODEL: ["model.key=value"]}``.

    Raises:
        ConfigError: an item without ``MODEL.key=value`` form.
    """
    from hepgraph.errors import ConfigError

    out: dict[str, list[str]] = {}
    for item in items or []:
        head, sep, value = item.partition("=")
        name, dot, key = head.partition(".")
        if not sep or not dot or not name or not key:
            raise ConfigError(f"--model-set `{item}` must look like MODEL.key=value, "
                              "e.g. --model-set dense-resnet18.base_channels=8")
        out.setdefault(name, []).append(f"model.{key}={value}")
    return out


@handle_errors
def compare(
    data: Annotated[Path, typer.Option("--data", help="Dataset directory (its train/val/test splits are used).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (comparison.md/.json, plots, one run per model).")],
    models: Annotated[Optional[str], typer.Option("--models", help="Comma-separated model names (`hepgraph models`), or LABEL=MODEL entries to compare one model under several --model-set options.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Task (default: the dataset's default task).")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Epochs per model (the same for all).")] = None,
    budget_minutes: Annotated[Optional[float], typer.Option("--budget-minutes", min=0.0, help="Wall-clock training budget per model (minutes); stops after the epoch that spends it.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same for every model).")] = 0,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Events per step.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda.")] = "auto",
    target: Annotated[Optional[float], typer.Option("--target", help="Headline-metric value whose first crossing (validation) is timed.")] = None,
    config: Annotated[Optional[str], typer.Option("--config", help="Experiment YAML shared by all models: a path or a shipped experiment name.")] = None,
    set_: SetOption = None,
    model_set: Annotated[Optional[list[str]], typer.Option("--model-set", help="Per-model option MODEL.key=value (repeatable), e.g. sparse-resnet18.voxel_size=24 (mm).")] = None,
    scan_voxel: Annotated[Optional[str], typer.Option("--scan-voxel", help="Resolution scan instead of training: voxel sizes in mm, e.g. 96,48,24.")] = None,
    scan_resolution: Annotated[Optional[str], typer.Option("--scan-resolution", help="Resolution scan: cells along the longest axis, e.g. 16,32,64.")] = None,
    threads: Annotated[int, typer.Option("--threads", min=0, help="CPU threads (0 = auto: 1 when the machine is busy).")] = 0,
    scan_models: Annotated[str, typer.Option("--scan-models", help="Dense,sparse twin pair for the scan (shared model options via --set model.key=value).")] = "dense-resnet18-3d,sparse-resnet18",
) -> None:
    """Train each model on the same split with the same seed and budget; write an honest table.

    Writes OUT/comparison.md, OUT/comparison.json, OUT/history.png (headline metric vs epoch),
    OUT/costs.png and OUT/models/NAME/{run,test}. With --scan-voxel/--scan-resolution, writes
    OUT/scan.md, OUT/scan.json and OUT/scan.png (time and memory vs resolution) instead.
    """
    from rich.console import Console

    from hepgraph.cli.threads import apply_threads
    from hepgraph.errors import ConfigError

    console = Console(stderr=True)
    apply_threads(threads)
    dev = "cuda" if device in ("auto", "cuda") and _cuda(device) else "cpu"
    per = parse_model_sets(model_set)
    if scan_voxel or scan_resolution:
        _scan(data, out, scan_voxel, scan_resolution, scan_models, task, batch_size, dev, seed, set_ or [], console)
        return
    if not models:
        raise ConfigError("give --models a,b (see `hepgraph models`) or a --scan-voxel/--scan-resolution")
    from hepgraph.compare import compare_models, write_comparison

    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = sorted(set(per) - {n.partition("=")[0] if "=" in n else n for n in names})
    if unknown:
        raise ConfigError(f"--model-set names `{unknown[0]}`, which is not in --models ({', '.join(names)})")
    prog = CompareProgress(console)
    with prog.inner:
        result = compare_models(data, names, out, model_overrides=per, progress=prog, task=task,
                                epochs=epochs, budget_minutes=budget_minutes, seed=seed, device=dev,
                                batch_size=batch_size, config=config, overrides=set_ or [], target=target)
    paths = write_comparison(result, out)
    from hepgraph.compare.report import fmt

    for m in result["models"]:
        console.print(f"{m['model']}: test {m['headline']} {fmt(m['test'].get(m['headline']))}, "
                      f"{fmt(m['train_events_per_s'])} train ev/s, {fmt(m['infer_events_per_s'])} "
                      f"inference ev/s, {fmt(m['parameters'])} parameters", highlight=False)
    console.print(f"[green]done[/green]: {paths['md']}", highlight=False)


def _cuda(device: str) -> bool:
    import torch

    from hepgraph.errors import ConfigError

    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device `cuda` requested but no CUDA device is available; use --device cpu")
    return torch.cuda.is_available()


def _scan(data: Path, out: Path, scan_voxel: str | None, scan_resolution: str | None, pair: str,
          task: str | None, batch_size: int | None, device: str, seed: int,
          sets: list[str], console: Any) -> None:
    import json

    from hepgraph import open_dataset
    from hepgraph.compare.scan import plot_scan, scan_markdown, voxels_from_resolution
    from hepgraph.compare.scan import scan_resolution as run_scan
    from hepgraph.config.load import apply_overrides
    from hepgraph.errors import ConfigError

    names = [p.strip() for p in pair.split(",")]
    if len(names) != 2:
        raise ConfigError(f"--scan-models `{pair}` must name two models: DENSE,SPARSE")
    voxels = _floats(scan_voxel, "--scan-voxel")
    if scan_resolution:
        extent = (open_dataset(data).manifest.get("extra") or {}).get("extent")
        if extent is None:
            raise ConfigError(f"dataset `{data}` records no extent; use --scan-voxel (mm) instead")
        voxels += voxels_from_resolution(extent, [int(c) for c in _floats(scan_resolution, "--scan-resolution")])
    if any(v <= 0 for v in voxels):
        raise ConfigError(f"voxel sizes must be positive (got {voxels})")
    shared = apply_overrides({}, sets).get("model", {})
    with console.status("resolution scan") as st:
        scan = run_scan(data, sorted(voxels, reverse=True), dense=names[0], sparse=names[1],
                        model_kwargs=shared, task=task, batch_size=batch_size or 4, device=device,
                        seed=seed, progress=lambda s: st.update(f"scan: {s}"))
    out.mkdir(parents=True, exist_ok=True)
    plot_scan(scan, out / "scan.png")
    (out / "scan.json").write_text(json.dumps(scan, indent=2))
    (out / "scan.md").write_text(f"# Resolution scan: {names[0]} vs {names[1]}\n\n{scan_markdown(scan)}\n\n![scan](scan.png)\n")
    console.print(scan_markdown(scan), highlight=False)
    console.print(f"[green]done[/green]: {out / 'scan.md'}", highlight=False)
