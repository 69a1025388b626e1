"""Write a comparison: ``comparison.json``, ``comparison.md`` and PNG plots.

The Markdown table is generated from the same per-model record that goes into the JSON, so
the two always hold the same numbers (formatted with :func:`fmt`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hepgraph.report.style import pyplot, save_figure, styled

#: Columns of the summary table: (header, record key, unit).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("parameters", "parameters", ""),
    ("train events/s", "train_events_per_s", "1/s"),
    ("inference events/s", "infer_events_per_s", "1/s"),
    ("peak train memory", "peak_train_mib", "MiB"),
    ("peak inference memory", "peak_infer_mib", "MiB"),
    ("epochs", "epochs", ""),
    ("train time", "train_seconds", "s"),
    ("time to target", "target_seconds", "s"),
)


def fmt(v: Any) -> str:
    """Format a number for a table: 4 significant digits, integers as is, None/NaN as ``-``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _write_atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _jsonable(v: Any) -> Any:
    import numpy as np

    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def summary_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per model: ``model``, ``metric``, ``test_value`` and the :data:`COLUMNS` keys."""
    rows = []
    for m in result["models"]:
        row = {"model": m["model"], "metric": m["headline"], "test_value": m["test"].get(m["headline"])}
        row.update({key: m.get(key) for _, key, _ in COLUMNS})
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The summary table as GitHub Markdown."""
    metric = rows[0]["metric"] if rows else "metric"
    heads = ["model", f"test {metric}"] + [f"{h} ({u})" if u else h for h, _, u in COLUMNS]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        cells = [r["model"], fmt(r["test_value"])] + [fmt(r[k]) for _, k, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pair_auc_table(result: Mapping[str, Any]) -> str | None:
    """Markdown table of the one-vs-one test AUC per pair of classes (None when no model has one).

    Columns ``A vs B`` (class names from the test metrics, else indices): events of true
    class A or B scored by ``p_A / (p_A + p_B)``, A positive.
    """
    models = [m for m in result["models"] if m["test"].get("auc_per_pair")]
    if not models:
        return None
    keys = list(models[0]["test"]["auc_per_pair"])
    names = models[0]["test"].get("class_names") or []

    def label(key: str) -> str:
        i, j = (int(v) for v in key.split("-"))
        return f"{names[i]} vs {names[j]}" if max(i, j) < len(names) else f"{i} vs {j}"

    heads = ["model", *[label(k) for k in keys]]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for m in models:
        pair = m["test"]["auc_per_pair"]
        lines.append("| " + " | ".join([m["model"], *[fmt(pair.get(k)) for k in keys]]) + " |")
    return "\n".join(lines)


@styled
def plot_history(result: Mapping[str, Any], path: Path) -> Path | None:
    """Validation headline metric (and training loss) vs epoch, one line per model."""

    models = result["models"]
    if not models or not any(m["history"] for m in models):
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    metric = models[0]["headline"]
    for m in models:
        ep = [r["epoch"] for r in m["history"]]
        axes[0].plot(ep, [r.get(f"val_{metric}", math.nan) for r in m["history"]], "o-", label=m["model"])
        axes[1].plot(ep, [r.get("train_loss", math.nan) for r in m["history"]], "o-", label=m["model"])
    target = result.get("settings", {}).get("target")
    if target is not None:
        axes[0].axhline(target, color="grey", ls="--", lw=1, label="target")
    axes[0].set(xlabel="epoch", ylabel=f"validation {metric}", title=f"validation {metric} vs epoch")
    axes[1].set(xlabel="epoch", ylabel="training loss", title="training loss vs epoch")
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, path)


@styled
def plot_costs(result: Mapping[str, Any], path: Path) -> Path | None:
    """Bar charts: training and inference events/s, peak memory (MiB) per model."""

    models = result["models"]
    if not models:
        return None
    plt = pyplot()
    names = [m["model"] for m in models]
    panels = [("train_events_per_s", "training events/s"), ("infer_events_per_s", "inference events/s"),
              ("peak_train_mib", "peak training memory (MiB)")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, (key, label) in zip(axes, panels):
        vals = [float(m.get(key) or 0.0) for m in models]
        ax.bar(range(len(names)), vals, color=[f"C{i}" for i in range(len(names))])
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def write_comparison(result: Mapping[str, Any], out: str | Path, *, title: str = "Model comparison") -> dict[str, Path]:
    """Write ``comparison.json``, ``comparison.md``, ``history.png`` and ``costs.png`` into ``out``.

    Returns:
        Name -> path of each file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    rows = summary_rows(result)
    record = _jsonable({**result, "summary": rows})
    for name, fn in (("history", plot_history), ("costs", plot_costs)):
        p = fn(result, out / f"{name}.png")
        if p is not None:
            paths[name] = p
    paths["json"] = _write_atomic(out / "comparison.json", json.dumps(record, indent=2))
    s = result.get("settings", {})
    budget = (f"{s['budget_minutes']} min wall-clock budget per model" if s.get("budget_minutes")
              else f"{s.get('epochs')} epochs per model")
    lines = [f"# {title}", "", f"Dataset `{result['data']}`; task `{s.get('task') or 'dataset default'}`; "
             f"seed {s.get('seed', 0)}; {budget}; device `{s.get('device', 'cpu')}`. "
             "All models use the same train/val/test split; test metrics on the `test` split.",
             "", markdown_table(rows), ""]
    if s.get("target") is not None:
        lines += [f"Time to target: training seconds until the validation {rows[0]['metric']} "
                  f"first reached {s['target']} (`-` = never).", ""]
    pairs = pair_auc_table(result)
    if pairs is not None:
        lines += ["Test ROC AUC per pair of classes (one vs one: events of the two classes, score "
                  "p_A / (p_A + p_B), A positive; curves in `models/*/test/roc_pairs.png`):", "", pairs, ""]
    lines += ["Peak memory: growth of the CPU resident set over its value at the start of training / of a "
              "test pass (0 = served from memory the process already held), or CUDA max allocated. "
              "Throughputs include representation building (image, sparse tensor, graph).", ""]
    for key, cap in (("history", "Validation metric and training loss vs epoch"),
                     ("costs", "Throughput and memory")):
        if key in paths:
            lines += [f"![{cap}]({paths[key].name})", ""]
    paths["md"] = _write_atomic(out / "comparison.md", "\n".join(lines))
    return paths
