#!/usr/bin/env bash
# cluster/local/start.sh DIR -- start a private single-node Slurm cluster (munged, slurmctld,
# slurmd) on this machine, for trying `lrid submit` and for the test suite.
#
# Everything lives in DIR (config, keys, state, spool, logs, pid files): nothing in /etc, no
# systemd, and stopping it (cluster/local/stop.sh DIR) kills exactly the daemons it started,
# by the PIDs in their pid files. Runs as root (SlurmUser=root); needs the Debian packages
# slurm-wlm and munge (tools/setup.sh installs them), and openmpi-bin for MPI jobs.
#
# Afterwards:  source DIR/env.sh    (exports SLURM_CONF; every Slurm client command needs it)
#
# Settings (environment):
#   SLURMCTLD_PORT, SLURMD_PORT   TCP ports of the two daemons (default 6817, 6818)
#   CRED_EXPIRE                   seconds; also how long a requeued job waits before it may
#                                 start again (default 10; Slurm's own default is 120)
#
# Choices that matter on a small machine without systemd/cgroups:
#   - SchedulerParameters=batch_sched_delay=0,sched_interval=1: a submitted job starts within
#     about a second (otherwise the first job may wait for the next scheduling pass);
#   - ProctrackType=proctrack/linuxproc, TaskPlugin=task/none: no cgroups needed;
#   - MpiDefault=none: MPI steps ask for PMIx explicitly (srun --mpi=pmix), the only plugin
#     Debian's OpenMPI 4.1 starts with;
#   - TmpFS=DIR/tmp: srun --mpi=pmix makes each step's PMIx directory in TmpFS, named by job and
#     step id only (spmix_appdir_UID_JOB.STEP). Every cluster numbers its jobs from 1, so under
#     Slurm's default /tmp a directory left behind by an earlier, killed cluster (or one running
#     beside it) makes that step's launch fail ("Cannot create client cli tmpdir ... File exists");
#   - MinJobAge=3600 and JobCompType=jobcomp/filetxt: finished (failed, cancelled) array tasks
#     stay visible to squeue for an hour, and one line per finished job goes to DIR/log/jobcomp.txt
#     (there is no slurmdbd here, so sacct has no accounting data).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
D=$(cd "$1" && pwd)                       # Slurm wants absolute paths
CONF=$D/etc/slurm.conf
SOCK=$D/munge/munge.socket.2
CTLD_PORT=${SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
CRED_EXPIRE=${CRED_EXPIRE:-10}
export SLURM_CONF=$CONF

say()  { echo "local slurm: $*" >&2; }
fail() {
  say "FAILED: $*"
  for f in "$D"/log/munged.log "$D"/log/slurmctld.log "$D"/log/slurmd.log; do
    [[ -f $f ]] && { echo "--- $f (last 20 lines)" >&2; tail -n 20 "$f" >&2; }
  done
  # leave nothing running behind a failed start
  "$(dirname "$0")/stop.sh" "$D" >&2 || true
  exit 1
}

[[ $(id -u) == 0 ]] || { say "must run as root (the daemons run as root with SlurmUser=root)"; exit 1; }
for b in munged munge unmunge slurmctld slurmd scontrol sinfo; do
  command -v "$b" >/dev/null || { say "'$b' not found: apt-get install slurm-wlm munge"; exit 1; }
done
[[ -e $CONF ]] && { say "$D already holds a cluster (stop it first: $(dirname "$0")/stop.sh $D)"; exit 1; }

# wait_for SECONDS PIDFILE CMD...: run CMD every 0.2 s until it succeeds; give up after
# SECONDS, or at once when the daemon whose pid PIDFILE holds has died
wait_for() {
  local end=$((SECONDS + $1)) pidfile=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [[ -s $pidfile ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 1; fi
    ((SECONDS < end)) || return 1
    sleep 0.2
  done
}

mkdir -p "$D"/{etc,munge,log,state,spool,tmp}
# munged refuses a socket below a directory that is not world-executable: make DIR's own
# directories so, and ask for the ones above it (this script does not change them)
chmod 755 "$D" "$D/munge"
up=$(dirname "$D")
while :; do
  if [[ $(( 8#$(stat -c %a "$up") & 1 )) == 0 ]]; then
    rm -rf "$D"/{etc,munge,log,state,spool}
    say "munged needs every directory above its socket to be world-executable, but $up is mode $(stat -c %a "$up") (e.g. from mktemp -d): chmod a+x $up, or use another DIR"
    exit 1
  fi
  [[ $up == / ]] && break
  up=$(dirname "$up")
done

# munge: a fresh key and a private socket (Slurm finds it through AuthInfo=socket=...)
dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$D/munge/munge.key"
munged --socket="$SOCK" --key-file="$D/munge/munge.key" --pid-file="$D/munge/munged.pid" \
       --seed-file="$D/munge/munged.seed" --log-file="$D/log/munged.log" ||
  fail "munged did not start"
munge_roundtrip() { munge -n -S "$SOCK" | unmunge -S "$SOCK"; }
wait_for 10 "$D/munge/munged.pid" munge_roundtrip || fail "munged does not answer on $SOCK"

# slurm.conf: one node, described by what slurmd detects ("NodeName=vm CPUs=2 ... RealMemory=N")
read -r node hw < <(slurmd -C | head -n 1)
node=${node#NodeName=}
[[ -n $node && -n $hw ]] || fail "cannot read the node description from 'slurmd -C'"
cat > "$CONF" <<CONF
# written by lrid's cluster/local/start.sh; every path is inside $D
ClusterName=lridlocal
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK,cred_expire=$CRED_EXPIRE
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
TmpFS=$D/tmp
SlurmctldPidFile=$D/state/slurmctld.pid
SlurmdPidFile=$D/spool/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
MinJobAge=3600
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_interval=1
MpiDefault=none
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
printf 'export SLURM_CONF=%q\n' "$CONF" > "$D/env.sh"

ctld_up()   { scontrol ping | grep -q 'is UP'; }
node_idle() { [[ $(sinfo -h -N -n "$node" -o %T) == idle ]]; }
slurmctld || fail "slurmctld did not start"
wait_for 30 "$D/state/slurmctld.pid" ctld_up || fail "slurmctld is not answering"
slurmd || fail "slurmd did not start"
wait_for 30 "$D/spool/slurmd.pid" node_idle || fail "node $node did not become idle"
say "up in $D (munged $(cat "$D/munge/munged.pid"), slurmctld $(cat "$D/state/slurmctld.pid"), slurmd $(cat "$D/spool/slurmd.pid")); node $node: $hw"
echo "export SLURM_CONF=$CONF"
