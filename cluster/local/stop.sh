#!/usr/bin/env bash
# cluster/local/stop.sh DIR -- stop the cluster that cluster/local/start.sh DIR started:
# cancel its jobs, stop slurmd, slurmctld and munged by the PIDs in their pid files (only if
# that PID still runs that program), then delete what start.sh created in DIR.
# Set KEEP_LOGS=1 to keep DIR/log. Safe to run twice, or on a half-started cluster.
set -uo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
[[ -d $1 ]] || { echo "local slurm: $1: no such directory (nothing to stop)" >&2; exit 0; }
D=$(cd "$1" && pwd)
export SLURM_CONF=$D/etc/slurm.conf
say() { echo "local slurm: $*" >&2; }

# until_true SECONDS CMD...: poll CMD every 0.2 s for at most SECONDS
until_true() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < end)) || return 1; sleep 0.2; done
}

if [[ -f $SLURM_CONF ]] && scontrol ping 2>/dev/null | grep -q 'is UP'; then
  scancel --user=root 2>/dev/null
  no_jobs_left()  { [[ -z $(squeue -h -t R,CG,S -o %A) ]]; }
  no_stepd_left() { ! compgen -G "$D/spool/*_[0-9]*.[0-9]*" >/dev/null; }
  until_true 30 no_jobs_left || say "jobs still running after 30 s"
  until_true 30 no_stepd_left || say "slurmstepd still present after 30 s"
fi

# stop NAME PIDFILE PROGRAM: SIGTERM the pid if /proc/PID/exe is PROGRAM; SIGKILL after 10 s
stop() {
  local name=$1 pidfile=$2 exe pid
  exe=$(readlink -f "$(command -v "$3" || echo "/usr/sbin/$3")")
  [[ -s $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if [[ $(readlink -f "/proc/$pid/exe" 2>/dev/null) != "$exe" ]]; then
    say "$name: pid $pid is not $exe any more (stale pid file)"
  else
    kill -TERM "$pid"
    if until_true 10 sh -c "! kill -0 $pid"; then
      say "$name (pid $pid) stopped"
    else
      say "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"; kill -KILL "$pid"
    fi
  fi
  rm -f "$pidfile"
}
stop slurmd    "$D/spool/slurmd.pid"    slurmd
stop slurmctld "$D/state/slurmctld.pid" slurmctld
stop munged    "$D/munge/munged.pid"    munged

keep=()
[[ ${KEEP_LOGS:-0} == 1 ]] && keep=(-not -name log)
find "$D" -mindepth 1 -maxdepth 1 \( -name etc -o -name munge -o -name state -o -name spool \
  -o -name log -o -name tmp -o -name env.sh \) "${keep[@]}" -exec rm -rf {} +
rmdir "$D" 2>/dev/null
say "stopped ($D cleaned)"
exit 0
