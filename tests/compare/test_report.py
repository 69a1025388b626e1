from __future__ import annotations

import json
import math

from hepgraph.compare.report import COLUMNS, fmt, markdown_table, pair_auc_table


def test_fmt():
    assert fmt(None) == "-" and fmt(math.nan) == "-"
    assert fmt(12) == "12" and fmt(0.123456) == "0.1235" and fmt(True) == "yes"


def test_markdown_table_layout():
    row = {"model": "m", "metric": "accuracy", "test_value": 0.5, **{k: 1.0 for _, k, _ in COLUMNS}}
    lines = markdown_table([row]).splitlines()
    assert lines[0].startswith("| model | test accuracy |")
    assert lines[2].split("|")[1:-1][:2] == [" m ", " 0.5 "]
    assert len(lines[2].split("|")) == len(lines[0].split("|"))


def test_pair_auc_table_names_the_pairs():
    test = {"auc_per_pair": {"0-1": 0.9, "0-2": float("nan"), "1-2": 0.75}, "class_names": ["e", "mu", "pi"]}
    res = {"models": [{"model": "cnn", "test": test}, {"model": "gnn", "test": {"accuracy": 0.5}}]}
    lines = pair_auc_table(res).splitlines()
    assert lines[0] == "| model | e vs mu | e vs pi | mu vs pi |"
    assert lines[2] == "| cnn | 0.9 | - | 0.75 |"
    assert len(lines) == 3                        # models without pair AUCs are left out
    assert pair_auc_table({"models": [{"model": "gnn", "test": {"auc": 0.5}}]}) is None


def test_report_files_hold_the_json_numbers(compared):
    _, out = compared
    js = json.loads((out / "comparison.json").read_text())
    md = (out / "comparison.md").read_text()
    for row in js["summary"]:
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {row['model']} |"))
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[1] == fmt(row["test_value"])
        for (_, key, _), cell in zip(COLUMNS, cells[2:]):
            assert cell == fmt(row[key]), key
    m0 = js["models"][0]
    assert js["summary"][0]["test_value"] == m0["test"][m0["headline"]]
    for name in ("history.png", "costs.png"):
        assert (out / name).stat().st_size > 1000
        assert f"]({name})" in md
