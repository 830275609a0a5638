#!/usr/bin/env python3
"""Scheduling efficiency from lrid campaign progress logs (used by tools/bench/scheduling.sh).

usage: scheduling.py LABEL=CAMPAIGN.h5.log.jsonl ...

Per log:
  makespan    = t(finish) - t(start)                         (rank 0's wall clock)
  ideal       = sum of the runs' `seconds` (done events: wall time of work() on the group
                leader) / number of worker groups
  efficiency  = makespan / ideal                              target <= 1.1
  lower bound = max(ideal, longest run) / ideal: what even a perfect schedule cannot beat
Per-run overheads, per group, between consecutive runs k and k+1 of that group:
  cycle overhead = (assign(k+1).t - assign(k).t) - seconds(k): everything in the cycle that is
                   not work(): the leader's request message, the scheduler's polling and
                   bookkeeping, the assignment's way back, the group broadcast
  queue latency  = assign(k+1).t - done(k).t: from the scheduler taking the request (and
                   logging `done`) to logging the next `assign` for that group
and the makespan's parts: start-up (start -> a group's first assign), tail (a group's last
done -> finish: waiting for the other groups, the barrier and the collective file close).
"""
import json
import statistics
import sys


def load(path):
    ev = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                ev.append(json.loads(line))
    return ev


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    i = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[i]


def analyse(label, path):
    ev = load(path)
    starts = [e for e in ev if e["event"] == "start"]
    finish = [e for e in ev if e["event"] == "finish"]
    if not starts or not finish:
        raise SystemExit(f"{path}: no start/finish event (did the campaign finish?)")
    start, fin = starts[-1], finish[-1]
    ev = [e for e in ev if start["t"] <= e["t"] <= fin["t"]]
    groups = int(start["groups"])
    done = [e for e in ev if e["event"] in ("done", "failed")]
    assign = [e for e in ev if e["event"] == "assign"]
    failed = sum(1 for e in done if e["event"] == "failed")
    makespan = fin["t"] - start["t"]
    total = sum(e["seconds"] for e in done)
    ideal = total / groups
    longest = max(e["seconds"] for e in done)
    cycle, latency, startup, tail, last_done = [], [], [], [], []
    for g in range(groups):
        a = sorted((e for e in assign if e["group"] == g), key=lambda e: e["t"])
        d = {e["run"]: e for e in done if e["group"] == g}
        if not a:
            startup.append(makespan)
            continue
        startup.append(a[0]["t"] - start["t"])
        for k in range(len(a) - 1):
            dk = d.get(a[k]["run"])
            if dk is None:
                continue
            cycle.append(a[k + 1]["t"] - a[k]["t"] - dk["seconds"])
            latency.append(a[k + 1]["t"] - dk["t"])
        dl = d.get(a[-1]["run"])
        if dl:
            last_done.append(dl["t"])
            tail.append(fin["t"] - dl["t"])
    ms = lambda x: 1e3 * x
    print(f"\n[{label}] {path}")
    print(f"  ranks {start['ranks']}, worker groups {groups} x {start['ranks_per_run']} rank(s), "
          f"{start['threads_per_rank']} thread(s)/rank, runs done {len(done) - failed}, failed {failed}")
    print(f"  makespan (log start -> finish)              {makespan:8.2f} s")
    print(f"  sum of run seconds / groups (ideal)         {ideal:8.2f} s   (sum {total:.2f} s, "
          f"longest run {longest:.2f} s)")
    print(f"  EFFICIENCY makespan / ideal                 {makespan / ideal:8.3f}     target <= 1.1  "
          f"{'OK' if makespan / ideal <= 1.1 else 'MISSED'}")
    print(f"  lower bound max(ideal, longest) / ideal     {max(ideal, longest) / ideal:8.3f}")
    if cycle:
        print(f"  per-run cycle overhead (not in work())      median {ms(statistics.median(cycle)):7.2f} ms, "
              f"p90 {ms(pct(cycle, 0.9)):7.2f} ms, max {ms(max(cycle)):7.2f} ms, sum {sum(cycle):.3f} s "
              f"over {len(cycle)} hand-overs")
        print(f"  queue latency done -> next assign (rank 0) median {ms(statistics.median(latency)):7.3f} ms, "
              f"max {ms(max(latency)):7.3f} ms")
    print(f"  start-up start -> first assign per group    " + ", ".join(f"{x:.2f}" for x in startup) + " s")
    print(f"  tail last done -> finish per group          " + ", ".join(f"{x:.2f}" for x in tail) + " s"
          + (f"  (groups' last done spread {max(last_done) - min(last_done):.2f} s)" if last_done else ""))
    lost = makespan * groups - total
    print(f"  group-seconds not in runs: {lost:.2f} s of {makespan * groups:.2f} s = "
          f"start-up {sum(startup):.2f} + hand-overs {sum(cycle):.2f} + tails {sum(tail):.2f}")
    return {"label": label, "makespan": makespan, "total": total, "groups": groups,
            "efficiency": makespan / ideal}


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    res = []
    for a in argv[1:]:
        label, _, path = a.partition("=")
        res.append(analyse(label, path or label))
    base = next((r for r in res if r["groups"] == 1), None)
    print("\nsummary")
    for r in res:
        extra = ""
        if base and r is not base:
            extra = (f", speed-up vs {base['label']} {base['makespan'] / r['makespan']:.2f}x "
                     f"(run seconds summed: {r['total']:.1f} vs {base['total']:.1f})")
        print(f"  {r['label']:>6}: efficiency {r['efficiency']:.3f} (target <= 1.1), makespan "
              f"{r['makespan']:.1f} s{extra}")


if __name__ == "__main__":
    main(sys.argv)
