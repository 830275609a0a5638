# Shared by the benchmark scripts (source it: . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"):
# the repository root, the reference interpreter, OpenMPI's settings for root, and
# bench_binary, which finds the binary a benchmark runs.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# bench_binary NAME [GIVEN]: GIVEN when set, else build/NAME of this checkout; exits 2 with one
# line naming the script when it is not an executable.
bench_binary() {
  local name=$1 given=${2:-} path
  path=${given:-$root/build/$name}
  if [[ ! -x "$path" ]]; then
    echo "$(basename "$0"): no $name at $path (build it: cmake --build build; or pass its path)" >&2
    exit 2
  fi
  echo "$path"
}

here="$root/tools/bench"

# bench_setup NAME: the lrid binary in $LRID (bench_binary), one intra-op thread per rank, and
# $work, a fresh temporary directory /tmp/lrid-bench-NAME.* removed on exit (a script that needs
# more at exit sets its own trap, which must remove $work too).
bench_setup() {
  LRID="$(bench_binary lrid "${LRID:-}")"
  export OMP_NUM_THREADS=1
  work="$(mktemp -d "/tmp/lrid-bench-$1.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
}
