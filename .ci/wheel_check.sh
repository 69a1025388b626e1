#!/usr/bin/env bash
# Builds the wheel, installs it (not editable) in a fresh venv outside the checkout, and runs
# the demo and one build per shipped simulator from that install: proves the package data
# (configs/) ships and nothing reads the source tree.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel -q --no-deps -w "$work/dist" "$repo"
python3 -m venv "$work/venv"
. "$work/venv/bin/activate"
pip install -q torch==2.13.0
pip install -q "$work"/dist/hepgraph-*.whl
cd "$work"
python - <<'PY'
import hepgraph, pathlib
assert "site-packages" in hepgraph.__file__, hepgraph.__file__
print("installed from", pathlib.Path(hepgraph.__file__).parent)
PY
hepgraph --version
for sim in $(python -c "from hepgraph.registry import SOURCES; import hepgraph.sources; print(' '.join(n for n in SOURCES.names('sim-*')))"); do
    hepgraph build-dataset --source "$sim" --events 20 --out "data/$sim"
done
hepgraph build-dataset --source root --mapping larcv-particles --help >/dev/null
hepgraph demo --quick --out demo-out
test -s demo-out/report.md
echo "wheel check passed"
