"""No command loses data: an interrupted --overwrite, two trainings into one directory, a
full disk (issue 17)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

from typer.testing import CliRunner

from hepgraph.cli.main import app
from hepgraph.runs.layout import run_dir_lock

from .conftest import TOY_MODEL
from .helpers import one_line_exit2

runner = CliRunner()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_build_killed_between_renames_keeps_a_dataset(toy_data, tmp_path):
    from hepgraph.store.writer import clean_stale_tmp

    out = tmp_path / "ds"
    pid = _dead_pid()
    old, new = tmp_path / f".ds.old-{pid}", tmp_path / f".ds.tmp-{pid}"
    shutil.copytree(toy_data, old)  # the state after `rename(out, old)` ...
    shutil.copytree(toy_data, new)  # ... with the finished new build not yet renamed
    clean_stale_tmp(out)
    assert (out / "_manifest.json").is_file()
    assert not old.exists() and not new.exists()
    # only the old one survived (killed while the new one was still being written)
    half = tmp_path / f".ds2.tmp-{pid}"
    half.mkdir()
    (half / "shard-00000.parquet").write_bytes(b"partial")
    shutil.copytree(toy_data, tmp_path / f".ds2.old-{pid}")
    clean_stale_tmp(tmp_path / "ds2")
    assert (tmp_path / "ds2" / "_manifest.json").is_file() and not half.exists()


def test_second_training_into_a_locked_run_dir_fails(toy_data, toy_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    before = sorted(p.name for p in run.rglob("*"))
    with run_dir_lock(run):
        res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                                  "--overwrite", "--epochs", "1", "--device", "cpu"])
        one_line_exit2(res, "in use by another training")
        one_line_exit2(runner.invoke(app, ["train", "--resume", str(run)]), "in use by another training")
    assert sorted(p.name for p in run.rglob("*")) == before


def test_overwrite_interrupted_before_the_first_epoch_leaves_no_mix(toy_data, toy_run, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    from hepgraph.train.trainer import Trainer

    def killed(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", killed)
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                              "--overwrite", "--task", "regression", "--targets", "px", "--device", "cpu"])
    assert res.exit_code == 130
    assert not (run / "checkpoints" / "last.pt").exists()  # the old run is gone whole
    monkeypatch.undo()
    one_line_exit2(runner.invoke(app, ["train", "--resume", str(run)]), "is not a hepgraph run directory")


def test_overwrite_with_a_bad_config_keeps_the_old_run(toy_data, toy_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    before = {p.name: p.stat().st_size for p in run.rglob("*") if p.is_file()}
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                              "--overwrite", "--set", "model.hiden=3"])
    one_line_exit2(res, "model.hiden: unknown key")
    assert {p.name: p.stat().st_size for p in run.rglob("*") if p.is_file()} == before


def test_full_disk_while_checkpointing_leaves_nothing_behind(toy_data, tmp_path, monkeypatch):
    import hepgraph.runs.checkpoint as ck

    real = ck.torch.save

    def full(obj, fh, *a, **k):
        real(obj, fh, *a, **k)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ck.torch, "save", full)
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--model", TOY_MODEL, "--data", str(toy_data), "--out", str(run),
                              "--epochs", "1", "--device", "cpu", "--task", "classification"])
    one_line_exit2(res, "No space left on device")
    assert not [p for p in run.rglob("*") if ".tmp-" in p.name]


def test_read_only_output_is_one_line(tmp_path, monkeypatch):
    import pathlib

    ro = tmp_path / "ro"
    real = pathlib.Path.mkdir

    def mkdir(self, *a, **k):  # as a read-only file system answers (also for root)
        if str(self).startswith(str(ro)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    res = runner.invoke(app, ["build-dataset", "--source", "sim-geiger-grid", "--events", "2",
                              "--out", str(ro / "ds")])
    one_line_exit2(res, "read-only")
