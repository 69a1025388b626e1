"""Library errors name settings, not flags: Python users read keywords and config keys,
the CLI prints the same message with its flags (hepgraph.errors.setting, hepgraph.cli.flags)."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hepgraph
from hepgraph.atomic import refuse_existing
from hepgraph.cli.flags import cli_form, cli_message
from hepgraph.cli.main import app
from hepgraph.errors import ConfigError, OutputExistsError, setting

ROOT = Path(hepgraph.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def test_a_setting_reads_as_python_or_as_a_flag():
    err = ConfigError(f"no model given: set {setting('model.name', 'NAME')}; or {setting('overwrite', True)} "
                      f"and {setting('task.num_classes', 'K')} or {setting('budget_minutes', 'M')}")
    assert str(err) == ("no model given: set `model.name=NAME`; or `overwrite=True` and "
                        "`task.num_classes=K` or `budget_minutes=M`")
    assert cli_message(err) == ("no model given: set --model NAME; or --overwrite and "
                                "--set task.num_classes=K or --budget-minutes M")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)  # errors cross process boundaries
    assert str(ConfigError("a {brace} and no setting")) == "a {brace} and no setting"
    assert cli_form("data.train", "DIR") == "--data DIR" and cli_form("input", "") == "--input"


def test_library_and_cli_word_one_mistake_each_their_way(tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(OutputExistsError) as info:
        refuse_existing(tmp_path / "x.csv", overwrite=False)
    assert "`overwrite=True`" in str(info.value) and "--" not in str(info.value)
    res = CliRunner().invoke(app, ["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "Traceback" not in res.output


def raised_strings(tree: ast.AST):
    """(line, text) of every string literal (f-string parts included) inside a ``raise``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield sub.lineno, sub.value


def test_no_library_error_names_a_flag():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("cli/"):
            continue
        for line, text in raised_strings(ast.parse(path.read_text())):
            text = re.sub(r"`hepgraph [^`]*`|pip install [^`\"]*", "", text)  # commands may be quoted whole
            if FLAG.search(text):
                found.append(f"{rel}:{line}: {text!r}")
    assert found == []


def test_the_scan_sees_a_flag_in_an_f_string():
    tree = ast.parse('raise ConfigError(f"no model: use --model {name}")')
    assert [FLAG.findall(t) for _, t in raised_strings(tree)] == [["--model"]]
