"""provenance.json: one entry per session with command, versions, git and machine."""

from __future__ import annotations

import json
import subprocess

from hepgraph.runs.provenance import git_state, package_versions, provenance, record_provenance


def test_sessions_append_and_fields(tmp_path):
    record_provenance(tmp_path, ["/usr/bin/hepgraph", "train", "--out", "a b"])
    record_provenance(tmp_path, ["hepgraph", "train", "--resume", "x"])
    sessions = json.loads((tmp_path / "provenance.json").read_text())["sessions"]
    assert [s["command"] for s in sessions] == ["hepgraph train --out 'a b'", "hepgraph train --resume x"]
    assert sessions[0]["packages"]["numpy"] and sessions[0]["python"].count(".") == 2
    assert set(sessions[0]["machine"]) >= {"hostname", "platform", "cpus"}


def test_git_state_of_a_fresh_repo_and_outside_one(tmp_path):
    assert git_state(tmp_path) is None
    repo = tmp_path / "r"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "f").write_text("1")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert git_state(repo) == {"commit": head, "dirty": False, "path": str(repo.resolve())}
    (repo / "f").write_text("2")
    assert git_state(repo)["dirty"] is True


def test_damaged_file_is_replaced(tmp_path):
    (tmp_path / "provenance.json").write_text("{not json")
    record_provenance(tmp_path, ["hepgraph"])
    assert len(json.loads((tmp_path / "provenance.json").read_text())["sessions"]) == 1
    assert "torch" in package_versions() and provenance([])["command"] == ""
