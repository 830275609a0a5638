#!/usr/bin/env bash
# lrid submit / status / resume on a real single-node Slurm cluster that this script starts
# (cluster/local/start.sh) in a temporary directory and always stops again (trap), by PID.
# Needs root and the Debian packages slurm-wlm, munge, openmpi-bin (tools/setup.sh installs
# them). A missing piece is a test FAILURE, never a skip. The checks are in slurm_campaign.py.
set -euo pipefail
SRC=${LRID_SOURCE_DIR:?LRID_SOURCE_DIR not set}
: "${LRID:?LRID (the lrid binary) not set}"
PY=${PYTHON:-/usr/bin/python3}

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || fail "the local Slurm cluster runs as root (SlurmUser=root); run this test as root"
for b in munged slurmctld slurmd sbatch squeue scancel sinfo mpirun; do
  command -v "$b" >/dev/null || fail "'$b' is not installed: the Slurm test cannot run (tools/setup.sh installs slurm-wlm, munge and openmpi-bin)"
done

WORK=$(mktemp -d /tmp/lrid_slurm_test.XXXXXX)
chmod 755 "$WORK"          # munged wants every directory above its socket world-executable
CLUSTER=$WORK/cluster
cleanup() {
  local rc=$?
  if ((rc != 0)); then
    for f in "$CLUSTER"/log/slurmctld.log "$CLUSTER"/log/slurmd.log; do
      [[ -f $f ]] && { echo "--- $f (last 25 lines)"; tail -n 25 "$f"; }
    done
    for f in "$WORK"/*/logs/*.out; do [[ -f $f ]] && { echo "--- $f"; tail -n 15 "$f"; }; done
  fi
  "$SRC/cluster/local/stop.sh" "$CLUSTER" || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# two free TCP ports, so that this cluster never meets another one on the machine
read -r SLURMCTLD_PORT SLURMD_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
export SLURMCTLD_PORT SLURMD_PORT
export CRED_EXPIRE=5      # a requeued task may start again after 5 s (the minimum)
start=$SECONDS
"$SRC/cluster/local/start.sh" "$CLUSTER" >/dev/null
source "$CLUSTER/env.sh"
echo "local Slurm up in $((SECONDS - start)) s (ports $SLURMCTLD_PORT/$SLURMD_PORT)"

export LRID_TEST_WORK=$WORK
"$PY" "$(dirname "$0")/slurm_campaign.py"
