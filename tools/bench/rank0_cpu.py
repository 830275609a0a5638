#!/usr/bin/env python3
"""CPU time of lrid's ranks while they wait (used by tools/bench/rank0_cpu.sh).

  rank0_cpu.py sample OUT.json STOPFILE [INTERVAL_S]
      Samples every lrid process (comm "lrid") whose environment holds LRID_BENCH_TAG with this
      process's value of it (other jobs on the machine are ignored) every INTERVAL_S (default
      0.1 s) until STOPFILE exists: wall time (time.time(), the clock of the campaign log's `t`), the process's
      utime+stime and each thread's (/proc/PID/task/TID/stat, clock ticks), its thread names
      and its MPI rank (OMPI_COMM_WORLD_RANK or PMIX_RANK from /proc/PID/environ).
  rank0_cpu.py scheduler SAMPLES.json LOG.jsonl
      rank 0's scheduler thread (named lrid-scheduler): utime+stime over its lifetime and over
      the campaign's wall time (log start -> finish).
  rank0_cpu.py idle SAMPLES.json LOG.jsonl
      A campaign with one run: the ranks without work wait (rank r > 0 in comm::quiet_barrier;
      rank 0 in its scheduler thread's poll loop, its main thread blocked in join) while one
      trains; each waiting rank's process CPU share over the run's time (log assign -> done,
      trimmed by 1 s / 0.5 s), per thread too.
"""
import json
import os
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(path):
    with open(path) as f:
        s = f.read()
    # comm may contain spaces: split after the closing parenthesis
    rest = s[s.rindex(")") + 2:].split()
    return rest  # rest[0] is field 3 (state)


def ticks(path):
    r = stat_fields(path)
    return int(r[11]) + int(r[12])  # fields 14 utime, 15 stime


def start_ticks(path):
    return int(stat_fields(path)[19])  # field 22 starttime (ticks after boot)


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)


def mpi_rank(env):
    for k in (b"OMPI_COMM_WORLD_RANK", b"PMIX_RANK"):
        if k in env:
            return int(env[k])
    return None


def sample(out, stop, interval):
    tag = os.environ.get("LRID_BENCH_TAG", "").encode()
    if not tag:
        raise SystemExit("set LRID_BENCH_TAG (and pass it to the ranks: mpirun -x LRID_BENCH_TAG)")
    procs = {}  # pid -> {"rank", "samples": [[t, ticks, {tid: [comm, ticks, start]}]]}
    foreign = set()
    while not os.path.exists(stop):
        t = time.time()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            if pid in foreign:
                continue
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != "lrid":
                        continue
                if pid not in procs:
                    env = environ(pid)
                    if env.get(b"LRID_BENCH_TAG") != tag:
                        foreign.add(pid)  # another job's lrid
                        continue
                    procs[pid] = {"rank": mpi_rank(env), "samples": []}
                pt = ticks(f"/proc/{pid}/stat")
                threads = {}
                for tid in os.listdir(f"/proc/{pid}/task"):
                    try:
                        with open(f"/proc/{pid}/task/{tid}/comm") as f:
                            comm = f.read().strip()
                        p = f"/proc/{pid}/task/{tid}/stat"
                        threads[tid] = [comm, ticks(p), start_ticks(p)]
                    except OSError:
                        pass
            except OSError:
                continue
            procs[pid]["samples"].append([t, pt, threads])
        time.sleep(interval)
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    with open(out, "w") as f:
        json.dump({"tck": TCK, "boot": time.time() - up, "procs": procs}, f)


def load(samples, log):
    with open(samples) as f:
        s = json.load(f)
    ev = [json.loads(l) for l in open(log) if l.strip()]
    return s, ev


def by_rank(s, rank):
    for pid, p in s["procs"].items():
        if p["rank"] == rank:
            return pid, p
    raise SystemExit(f"no lrid process with MPI rank {rank} was sampled")


def scheduler(samples, log):
    s, ev = load(samples, log)
    start = [e for e in ev if e["event"] == "start"][-1]["t"]
    finish = [e for e in ev if e["event"] == "finish"][-1]["t"]
    pid, p = by_rank(s, 0)
    seen = [(t, th) for t, _, th in p["samples"]
            if any(v[0] == "lrid-scheduler" for v in th.values())]
    if not seen:
        raise SystemExit("rank 0's thread lrid-scheduler was never seen (campaign too short?)")
    tid = next(k for k, v in seen[-1][1].items() if v[0] == "lrid-scheduler")
    t_last, th = seen[-1]
    cpu = th[tid][1] / TCK
    born = s["boot"] + th[tid][2] / TCK
    alive = t_last - born
    first_t, first_th = seen[0]
    win = (th[tid][1] - first_th[tid][1]) / TCK / max(1e-9, t_last - first_t)
    proc_ticks = [x for x in p["samples"]]
    proc_share = (proc_ticks[-1][1] - proc_ticks[0][1]) / TCK / max(1e-9, proc_ticks[-1][0] - proc_ticks[0][0])
    print(f"  rank 0 (pid {pid}) thread lrid-scheduler (tid {tid}): {cpu:.2f} s CPU "
          f"(utime+stime, {th[tid][1]} ticks of 1/{TCK} s)")
    print(f"    over its life ({alive:.1f} s, last sample {finish - t_last:+.2f} s before finish): "
          f"{100 * cpu / alive:.2f} % of one core")
    print(f"    over the campaign's wall time (log start -> finish, {finish - start:.1f} s): "
          f"{100 * cpu / (finish - start):.2f} % of one core      target < 2 %")
    print(f"    between first and last sample: {100 * win:.2f} %; the whole rank-0 process "
          f"(training included): {100 * proc_share:.1f} %")
    return cpu / (finish - start)


def idle(samples, log):
    s, ev = load(samples, log)
    a = [e for e in ev if e["event"] == "assign"]
    d = [e for e in ev if e["event"] in ("done", "failed")]
    if len(a) != 1 or len(d) != 1:
        raise SystemExit("expected a campaign with exactly one run")
    ranks = [e for e in ev if e["event"] == "start"][-1]["ranks"]
    worker = a[0]["group"]
    t0, t1 = a[0]["t"] + 1.0, d[0]["t"] - 0.5
    wpid, wp = by_rank(s, worker)
    ww = [x for x in wp["samples"] if t0 <= x[0] <= t1]
    wshare = (ww[-1][1] - ww[0][1]) / TCK / (ww[-1][0] - ww[0][0]) if len(ww) > 1 else float("nan")
    print(f"  the run was trained by rank {worker} ({100 * wshare:.1f} % of one core); the others wait:")
    worst = 0.0
    for idle_rank in range(ranks):
        if idle_rank == worker:
            continue
        pid, p = by_rank(s, idle_rank)
        win = [x for x in p["samples"] if t0 <= x[0] <= t1]
        if len(win) < 2:
            raise SystemExit("too few samples in the wait window")
        (ta, pa, tha), (tb, pb, thb) = win[0], win[-1]
        share = (pb - pa) / TCK / (tb - ta)
        worst = max(worst, share)
        where = ("in comm::quiet_barrier (MPI_Ibarrier + MPI_Test and sleeps) after its queue ran dry"
                 if idle_rank != 0 else
                 "main thread blocked joining the scheduler thread, which polls MPI_Iprobe + sleeps")
        print(f"  rank {idle_rank} (pid {pid}) waits: {where}")
        print(f"    process CPU over {tb - ta:.1f} s of the run: {(pb - pa) / TCK:.2f} s = "
              f"{100 * share:.2f} % of one core      target < 2 %")
        busy = []
        for tid, v in thb.items():
            before = tha.get(tid, [v[0], 0, 0])[1]
            name = "main thread" if tid == pid else v[0]
            if v[1] - before > 0 or tid == pid:
                busy.append((v[1] - before, name, tid))
        busy.sort(reverse=True)
        print(f"    per thread (1 tick = {100 / TCK / (tb - ta):.2f} %): " +
              ", ".join(f"{c} ({tid}) {100 * n / TCK / (tb - ta):.2f} %" for n, c, tid in busy[:6]) +
              "; the others 0")
    return worst


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    if argv[1] == "sample":
        sample(argv[2], argv[3], float(argv[4]) if len(argv) > 4 else 0.1)
    elif argv[1] == "scheduler":
        scheduler(argv[2], argv[3])
    elif argv[1] == "idle":
        idle(argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
