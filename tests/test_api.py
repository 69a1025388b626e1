"""The public API at the top of the package: cheap to import, the documented names work."""

from __future__ import annotations

import subprocess
import sys

import hepgraph
from tests.train.conftest import toy_data  # noqa: F401  (shared toy dataset)


def test_import_is_cheap_and_lists_the_api():
    code = "import sys, hepgraph; print('torch' in sys.modules, sorted(hepgraph.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("False")
    for name in ("open_dataset", "create_model", "list_models", "to_graph", "to_sparse", "to_image",
                 "train", "evaluate", "cluster"):
        assert name in out and name in dir(hepgraph) and getattr(hepgraph, name).__doc__


def test_train_evaluate_cluster_from_python(toy_data, tmp_path):  # noqa: F811
    import hepgraph.cluster.run  # noqa: F401  (the subpackages stay callable once imported)
    import hepgraph.train.run  # noqa: F401

    run = hepgraph.train(toy_data, tmp_path / "run", model="mlp", task="classification", epochs=1,
                         batch_size=16, device="cpu")
    assert (run / "checkpoints" / "best.pt").is_file()
    m = hepgraph.evaluate(run, toy_data, tmp_path / "eval")
    assert m["split"] == "test" and m["events"] == len(hepgraph.open_dataset(toy_data).split("test"))
    res = hepgraph.cluster(toy_data, "dbscan", split="all", options={"eps": 20.0})
    assert 0.0 <= res.metrics["efficiency"] <= 1.0 and len(res.track_id) == len(res.hit_id)
    assert hepgraph.list_models("sparse-resnet18") == ["sparse-resnet18"]
