#!/usr/bin/env bash
# Mean test accuracy of lrid's random forest over ten balanced 75/25 splits within 2 percentage
# points of scikit-learn's RandomForestClassifier (same rows, same hyperparameters) on several
# synthetic feature sets; see forest_sklearn_parity.py. ctest provides LRID, LRID_SOURCE_DIR and
# PYTHON (/usr/bin/python3 with numpy, h5py and scikit-learn).
set -euo pipefail
: "${LRID:?LRID must name the lrid binary}"
: "${LRID_SOURCE_DIR:?LRID_SOURCE_DIR must name the source tree}"
PYTHON="${PYTHON:-/usr/bin/python3}"
tool="$(dirname "$LRID")/lrid_forest_tool"
[[ -x "$tool" ]] || { echo "forest_sklearn_parity: $tool not built (ninja lrid_forest_tool)"; exit 1; }
if ! "$PYTHON" -c 'import sklearn, h5py' 2>/dev/null; then
  echo "forest_sklearn_parity: $PYTHON lacks scikit-learn or h5py (apt-get install python3-sklearn python3-h5py)"
  exit 1
fi
exec "$PYTHON" "$LRID_SOURCE_DIR/tests/scripts/forest_sklearn_parity.py" --tool "$tool" "$@"
