"""``hepgraph train``: train a model on a dataset (one process, or many under torchrun)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepgraph.cli.options import SetOption, handle_errors, set_interrupt_hint


def register(app: typer.Typer) -> None:
    """Add the ``train`` command."""
    app.command("train", no_args_is_help=True)(train)


@handle_errors
def train(
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory to create (checkpoints, metrics).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (`hepgraph models` lists them).")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Training dataset directory.")] = None,
    val: Annotated[Optional[Path], typer.Option("--val", help="Validation dataset (default: the val split of --data).")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Task (default: the dataset's default task).")] = None,
    targets: Annotated[Optional[str], typer.Option("--targets", help="Regression targets, comma separated (e.g. px,py,pz; GeV).")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Number of epochs.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", min=1, help="Events per step (per process). A step also holds at most "
        "train.max_batch_hits hits (default 250000, ~4.5 GB for sparse-resnet18 on CPU; counted in hits, not events): "
        "a batch closes before the event that would exceed it, an event above it is a step alone. "
        "Change it with --set train.max_batch_hits=N (null = no limit).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda.")] = None,
    amp: Annotated[bool, typer.Option("--amp", help="Mixed precision on CUDA (bf16 where supported, else fp16).")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", min=0, help="Loader worker processes.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (same seed -> same result).")] = None,
    config: Annotated[Optional[str], typer.Option("--config", help="Experiment YAML: a path, or the name of a shipped experiment (e.g. lartpc_pid_sparse; an unknown name lists them).")] = None,
    set_: SetOption = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue the run in this directory.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty --out.")] = False,
    logger: Annotated[Optional[str], typer.Option(
        "--logger", help="Experiment tracking: none, csv (RUN/metrics.csv) or tensorboard (RUN/tensorboard/).")] = None,
    find_lr: Annotated[bool, typer.Option(
        "--find-lr", help="LR range test instead of training: OUT/lr_find.png and .csv, and a suggested --lr.")] = False,
    find_lr_steps: Annotated[int, typer.Option(
        "--find-lr-steps", min=5, help="Batches of the LR range test (lr from 1e-7 to 1, geometric).")] = 100,
) -> None:
    """Train a model; writes RUN/config.yaml, metrics.jsonl, checkpoints/{last,best}.pt, best.json,
    provenance.json (command, versions, git commit, machine), train.log."""
    from rich.console import Console

    from hepgraph.cli.progress import RichTrainProgress
    from hepgraph.errors import ConfigError
    from hepgraph.train import resolve, run

    if out is None and resume is None:
        raise ConfigError("give --out RUN (or --resume RUN to continue a run)")
    if resume is not None and out is not None and out.resolve() != resume.resolve():
        raise ConfigError(f"--out `{out}` and --resume `{resume}` differ; --resume continues in place")
    amp_mode = None
    if amp:
        import torch

        amp_mode = "fp16" if torch.cuda.is_available() and not torch.cuda.is_bf16_supported() else "bf16"
    flags = {
        "model.name": model, "data.train": str(data) if data else None, "data.val": str(val) if val else None,
        "task.name": task, "task.targets": [t.strip() for t in targets.split(",")] if targets else None,
        "train.epochs": epochs, "train.batch_size": batch_size, "train.lr": lr, "train.device": device,
        "train.amp": amp_mode, "data.workers": workers, "seed": seed, "train.logger": logger,
    }
    if resume is not None:
        given = [k for k, v in flags.items()
                 if v is not None and k not in ("train.epochs", "train.logger", "data.train")]
        if given or config is not None or set_:
            raise ConfigError("--resume continues with the run's stored config; only --epochs (and --data, "
                              f"the same dataset moved) may change (got {', '.join(given) or '--config/--set'})")
        cfg, run_dir = None, resume
    else:
        cfg, run_dir = resolve(config, flags, set_), out
    if find_lr:
        if resume is not None:
            raise ConfigError("--find-lr tests a new run's config; drop --resume")
        from hepgraph.train.lr_find import find_lr as run_find_lr

        res = run_find_lr(cfg, run_dir, steps=find_lr_steps, overwrite=overwrite)
        typer.echo(f"LR range test ({res['steps']} batches): steepest descent at lr {res['steepest_lr']:.2g}, "
                   f"minimum loss at {res['min_loss_lr']:.2g}; suggested --lr {res['suggested_lr']:.2g} "
                   f"(plot: {res['plot']})")
        return
    set_interrupt_hint(f"continue with: hepgraph train --resume {run_dir} (from the last finished epoch)")
    main = int(os.environ.get("RANK", "0")) == 0
    console = Console(stderr=True)
    kwargs = {"resume": resume is not None, "epochs": epochs, "overwrite": overwrite,
              "logger": logger if resume is not None else None,
              "data": data if resume is not None else None}
    if main:
        with RichTrainProgress(console) as progress:
            run(cfg, run_dir, callback=progress, **kwargs)
        console.print(f"[green]done[/green]: run written to {run_dir}", highlight=False)
        from hepgraph.report.history import history_plot
        from hepgraph.train.trainer import best_summary

        console.print(best_summary(run_dir), highlight=False, markup=False, soft_wrap=True)
        console.print(f"history: {history_plot(run_dir)}", highlight=False, markup=False, soft_wrap=True)
    else:
        run(cfg, run_dir, **kwargs)
