"""Write ``nested.root``: ROOT structures uproot cannot write, for the ``root`` source tests.

Run with PyROOT (``pip install root``), not by the test suite::

    python tests/sources/data/make_nested_root.py tests/sources/data/nested.root

Trees (values follow from the seed below; the tests read them back with uproot as truth):

- ``trkana`` (Mu2e TrkAna style): ``evt`` (int), ``trkhits`` (``vector<vector<TrkHit>>``,
  hits per track per event; ``TrkHit {float x, y, z; double t; float edep; int straw}``),
  ``edep`` (``vector<vector<float>>``, the same numbers as ``trkhits.edep``),
  ``trkid`` (``vector<int>``, one id per track).
- ``E`` (KM3NeT offline style): one split object per entry, ``Evt {int id; double t0;
  std::vector<AHit> hits;}`` with ``AHit {int dom_id; int channel_id; double t; float tot;
  int trig;}``, so the leaves are ``Evt/hits/hits.t`` and so on; hit times are absolute
  (~1e8 ns) and stored as double.
"""

from __future__ import annotations

import sys

import numpy as np

HEADER = r"""
#include <vector>
struct TrkHit { float x; float y; float z; double t; float edep; int straw; };
struct AHit { int dom_id; int channel_id; double t; float tot; int trig; };
struct Evt { int id; double t0; std::vector<AHit> hits; };
"""


def main(path: str) -> None:
    import ROOT

    with open("/tmp/hepgraph_nested_fixture.h", "w") as fh:
        fh.write(HEADER)
    ROOT.gInterpreter.Declare('#include "/tmp/hepgraph_nested_fixture.h"')
    ROOT.gInterpreter.GenerateDictionary(
        "TrkHit;AHit;Evt;std::vector<TrkHit>;std::vector<std::vector<TrkHit>>;std::vector<AHit>",
        "/tmp/hepgraph_nested_fixture.h")
    rng = np.random.default_rng(7)
    f = ROOT.TFile(path, "RECREATE")
    t = ROOT.TTree("trkana", "hits per track per event")
    evt = np.zeros(1, np.int32)
    trkhits = ROOT.std.vector(ROOT.std.vector("TrkHit"))()
    edep = ROOT.std.vector(ROOT.std.vector("float"))()
    trkid = ROOT.std.vector("int")()
    t.Branch("evt", evt, "evt/I")
    t.Branch("trkhits", trkhits)
    t.Branch("edep", edep)
    t.Branch("trkid", trkid)
    ntrk = [2, 0, 1, 3, 1]
    for i, n in enumerate(ntrk):
        evt[0] = 1000 + i
        trkhits.clear(), edep.clear(), trkid.clear()
        for k in range(n):
            hits = ROOT.std.vector("TrkHit")()
            e = ROOT.std.vector("float")()
            for _ in range(int(rng.integers(0 if k == 1 else 1, 6))):  # track 1 of event 0 may be empty
                h = ROOT.TrkHit()
                h.x, h.y, h.z = (float(v) for v in rng.normal(0, 300, 3))
                h.t = float(rng.uniform(500, 1700))
                h.edep = float(rng.exponential(0.003))
                h.straw = int(rng.integers(0, 96))
                hits.push_back(h)
                e.push_back(h.edep)
            trkhits.push_back(hits)
            edep.push_back(e)
            trkid.push_back(int(10 * i + k + 1))
        t.Fill()
    t.Write()
    e_tree = ROOT.TTree("E", "KM3NeT style events")
    ev = ROOT.Evt()
    e_tree.Branch("Evt", ev, 32000, 99)
    for i, n in enumerate([4, 0, 7, 2]):
        ev.id = i
        ev.t0 = 1.0e8 + 12345.678 * i
        ev.hits.clear()
        for _ in range(n):
            h = ROOT.AHit()
            h.dom_id = int(rng.integers(1, 4))
            h.channel_id = int(rng.integers(0, 31))
            h.t = ev.t0 + float(rng.uniform(0, 3000)) + 0.01 * int(rng.integers(0, 100))
            h.tot = float(rng.integers(1, 40))
            h.trig = int(rng.integers(0, 2))
            ev.hits.push_back(h)
        e_tree.Fill()
    e_tree.Write()
    f.Close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "nested.root")
