#!/usr/bin/env bash
# Install MinkowskiEngine 0.5.4 (CPU-only build, ~5 min) into the Python environment of
# $PYTHON (default: python). Idempotent: does nothing when it already imports.
set -euo pipefail
PYTHON=${PYTHON:-python}
check='import collections, collections.abc; collections.Sequence = collections.abc.Sequence; import MinkowskiEngine'
if "$PYTHON" -c "$check" 2>/dev/null; then
    echo "MinkowskiEngine already importable; nothing to do"
    exit 0
fi
if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update
    $SUDO apt-get install -y libopenblas-dev
fi
SETUPTOOLS_USE_DISTUTILS=stdlib MAX_JOBS=${MAX_JOBS:-2} \
    "$PYTHON" -m pip install --no-build-isolation minkowskiengine==0.5.4
"$PYTHON" -c "$check; print('MinkowskiEngine', MinkowskiEngine.__version__, 'installed')"
