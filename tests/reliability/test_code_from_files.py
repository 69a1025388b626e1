"""Names read from files resolve only to registered components: a checkpoint, a manifest or a
config naming `os:system` never runs it (issue 17, critical)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.errors import UnknownNameError
from hepgraph.registry import MODELS, SOURCES, TASKS

runner = CliRunner()
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _craft(run: Path, dest: Path, marker: Path, where: str) -> Path:
    """Copy ``run`` to ``dest`` with ``where`` (model|task|optimizer|scheduler) of the stored
    config replaced by ``os:system`` running ``touch marker``."""
    shutil.copytree(run, dest)
    for name in ("last.pt", "best.pt"):
        path = dest / "checkpoints" / name
        ck = torch.load(path, weights_only=True)
        cfg = json.loads(ck["config"])
        block = {"name": "os:system", "command": f"touch {marker}"}
        if where in ("model", "task"):
            cfg[where] = block
        else:
            cfg["train"][where] = block
        ck["config"] = json.dumps(cfg)
        torch.save(ck, path)
    return dest


@pytest.mark.parametrize("where", ["model", "task", "optimizer", "scheduler"])
def test_crafted_checkpoint_config_runs_nothing(toy_run, toy_data, tmp_path, where):
    marker = tmp_path / "pwned"
    run = _craft(toy_run, tmp_path / "evil", marker, where)
    commands = [
        ["evaluate", str(run), "--data", str(toy_data), "--out", str(tmp_path / "ev")],
        ["predict", str(run), "--data", str(toy_data), "--out", str(tmp_path / "p.parquet")],
        ["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "m.pt")],
        ["train", "--resume", str(run)],
    ]
    for cmd in commands:
        res = runner.invoke(app, cmd)
        assert not marker.exists(), cmd
        if where in ("model", "task") or cmd[0] == "train":  # the commands that build it
            assert res.exit_code == 2, (cmd, res.output)
            assert "not registered" in res.output, (cmd, res.output)
        else:
            assert res.exit_code == 0, (cmd, res.output)


def test_manifest_default_task_is_a_name_not_code(toy_data, tmp_path):
    marker = tmp_path / "pwned"
    ds = tmp_path / "ds"
    shutil.copytree(toy_data, ds)
    man = json.loads((ds / "_manifest.json").read_text())
    man["default_task"] = "os:system"
    (ds / "_manifest.json").write_text(json.dumps(man))
    res = runner.invoke(app, ["train", "--model", "mlp", "--data", str(ds), "--out", str(tmp_path / "r"),
                              "--set", f"task.command=touch {marker}"])
    assert res.exit_code == 2, res.output
    assert not marker.exists()


@pytest.mark.parametrize("registry", [MODELS, SOURCES, TASKS])
def test_registry_never_imports_a_path(registry):
    with pytest.raises(UnknownNameError, match="never imports"):
        registry.get("os:system")
    assert "os:system" not in registry


def _plugin_env(site: Path, extra_dist: str | None = None) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "tests" / "train"))
    from hg_train_toy import write_plugin_dist

    write_plugin_dist(site)
    if extra_dist:
        info = site / "broken-0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.0\n")
        (info / "entry_points.txt").write_text(f"[hepgraph.plugins]\nbroken = {extra_dist}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "train"), str(site)])
    return env


def test_plugins_come_in_through_entry_points(tmp_path):
    code = ("import warnings; warnings.simplefilter('always')\n"
            "from hepgraph.models import list_models\n"
            "print('toy-model' in list_models(), 'mlp' in list_models())")
    env = _plugin_env(tmp_path / "site", extra_dist="no_such_module_xyz:register")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True"]
    assert "plugin `broken`" in res.stderr and "skipped" in res.stderr
    env["HEPGRAPH_DISABLE_PLUGINS"] = "1"
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.stdout.split() == ["False", "True"]
