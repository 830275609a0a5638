#!/usr/bin/env bash
# The random forest is the same (bit-identical test probabilities and feature importances)
# whether fit() grows it in one process (1 or 3 threads) or fit_distributed() grows it over
# 1, 2 or 3 MPI ranks; every rank ends with the same forest; save/load keeps predictions
# bit-identical. Uses lrid_forest_tool (built next to the lrid binary, tests/tools/).
# ctest provides LRID (the binary), LRID_SOURCE_DIR and PYTHON.
set -euo pipefail
: "${LRID:?LRID must name the lrid binary}"
PYTHON="${PYTHON:-/usr/bin/python3}"
tool="$(dirname "$LRID")/lrid_forest_tool"
[[ -x "$tool" ]] || { echo "forest_ranks: $tool not built (ninja lrid_forest_tool)"; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 240 samples x 60 features, 3 classes; a constant feature, a feature with many ties, and
# class-dependent means on a few features.
"$PYTHON" - "$tmp/data.h5" <<'PY'
import sys, numpy as np, h5py
rng = np.random.default_rng(5)
n, d = 240, 60
y = np.repeat(np.arange(3), n // 3)
X = rng.normal(size=(n, d))
X[:, :6] += 0.8 * y[:, None] * rng.normal(size=6)
X[:, 10] = 1.5                               # constant
X[:, 11] = np.round(X[:, 11] + y, 0)         # heavy ties
with h5py.File(sys.argv[1], "w") as f:
    f["X"] = X
    f["y"] = y.astype(np.int32)
PY

field() { "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])' "$1"; }
mpi=(mpirun --allow-run-as-root --oversubscribe)
fail=0
check() {  # label, json, reference json
  local label="$1" out="$2" ref="$3"
  local p r i ri a
  p=$(field proba_fnv <<<"$out"); r=$(field proba_fnv <<<"$ref")
  i=$(field importance_fnv <<<"$out"); ri=$(field importance_fnv <<<"$ref")
  a=$(field ranks_agree <<<"$out")
  if [[ "$p" == "$r" && "$i" == "$ri" && "$a" == "True" ]]; then
    echo "ok    $label (probabilities $p, importances $i)"
  else
    echo "FAIL  $label: probabilities $p vs $r, importances $i vs $ri, ranks agree $a"
    fail=1
  fi
}

for opts in "--trees 24 --max-features sqrt" \
            "--trees 10 --max-features 0.3 --min-samples-leaf 3 --max-depth 6 --no-bootstrap"; do
  echo "== $opts"
  # shellcheck disable=SC2086
  ref=$("$tool" "$tmp/data.h5" --splits 2 --seed 9 $opts --check-load)
  if [[ "$(field load_identical <<<"$ref")" != "True" ]]; then
    echo "FAIL  save/load changed the predictions"; fail=1
  else
    echo "ok    save/load bit-identical"
  fi
  # shellcheck disable=SC2086
  check "fit(), 3 threads" "$("$tool" "$tmp/data.h5" --splits 2 --seed 9 $opts --threads 3)" "$ref"
  for np in 1 2 3; do
    # shellcheck disable=SC2086
    out=$("${mpi[@]}" -np "$np" "$tool" "$tmp/data.h5" --splits 2 --seed 9 $opts --mpi)
    check "fit_distributed(), $np rank(s)" "$out" "$ref"
  done
  # 2 ranks x 2 threads each
  # shellcheck disable=SC2086
  out=$("${mpi[@]}" -np 2 "$tool" "$tmp/data.h5" --splits 2 --seed 9 $opts --mpi --threads 2)
  check "fit_distributed(), 2 ranks x 2 threads" "$out" "$ref"
done

# A different seed must give a different forest (the comparison above can fail).
other=$("$tool" "$tmp/data.h5" --splits 2 --seed 10 --trees 24 --max-features sqrt)
ref=$("$tool" "$tmp/data.h5" --splits 2 --seed 9 --trees 24 --max-features sqrt)
if [[ "$(field proba_fnv <<<"$other")" == "$(field proba_fnv <<<"$ref")" ]]; then
  echo "FAIL  seeds 9 and 10 gave the same forest"; fail=1
fi
exit $fail
