#!/usr/bin/python3
"""The fuzz corpus of lrid's input handling (issue 26).

lrid promises (README "Commands", docs/CONVENTIONS.md): bad input exits 2 with ONE line naming
the file, key and what was expected; exit 1 only for internal failures; nothing already computed
is lost or overwritten. This script builds a tiny real campaign, model, recording and results
once (5-15 s on 2 cores), then, for every case of the table in tests/fuzz/cases.py, a private copy of
them with one thing damaged (a dataset, an attribute, a job key, an option, the file system), runs
the command on it, and checks:

  - the exit code is one the case expects (2 for bad input, 0 for valid input); a signal or a
    segfault is a `crash`, running past the case's time limit a `hang`, exit 1 an `internal
    error`, exit 0 on bad input `silent acceptance`;
  - on exit 2, exactly one line on stderr (OpenMPI's own banner aside: blocks between lines of
    dashes, and lines starting with mpirun / prterun / Primary job / [host:pid]), naming what the
    case says it must name (the damaged file, the option);
  - no Python traceback;
  - every file present before the command (inputs and earlier outputs) still exists with the same
    bytes, unless the case says the command may replace it; no `*.tmp` file is left behind;
  - the case's own check, if any (e.g. no terminal control characters in a piped log).

Usage: fuzz.py [--only REGEX] [--list] [--all] [--open] [--jobs N] [--keep] [--json FILE]
CI (tests/scripts/fuzz.sh) runs the core corpus (under 3 minutes on 2 cores once nothing hangs);
--all adds cases.EXTENDED (refusals that already hold, variants of a core case's root cause);
cases.KNOWN_OPEN (failures not fixed yet, each with its class and reason) run only with --open.
Environment (as ctest sets it): LRID (the binary), LRID_SOURCE_DIR, PYTHON (/usr/bin/python3).
Prints `FAIL <id> [c<class>] <kind>: <what> (exit N, K lines)` per failing case, then
`fuzz: N cases, M held` and a table per input kind; exits 1 when a case failed.
A full disk (a 64 KiB tmpfs) and read-only directories need mount(8) as root: where mount fails,
those cases print a SKIP line and do not count. A failed case's directory is kept (with the files
it damaged or left) under the temporary directory that finish() names.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
SRC_DEFAULT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("LRID_SOURCE_DIR", SRC_DEFAULT)
os.environ.setdefault("LRID", os.path.join(os.environ["LRID_SOURCE_DIR"], "build", "lrid"))
sys.path.insert(0, os.path.join(os.environ["LRID_SOURCE_DIR"], "tests", "scripts"))
sys.path.insert(0, HERE)
import lridtest  # noqa: E402  (tempdir, finish, the binary)

LRID = os.path.abspath(lridtest.LRID)
SRC = lridtest.SRC
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
MEMORY_LIMIT = 4 << 30  # address space per process: a runaway allocation fails instead of swapping

import cases as corpus  # noqa: E402

KINDS = ["job", "override", "option", "campaign", "results", "model", "recording", "filesystem", "python-tool"]


def base_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", HDF5_USE_FILE_LOCKING="FALSE")
    env.pop("LRID_PROGRESS", None)
    env.pop("LRID_DEBUG", None)
    return env


def argv_of(cmd, np_):
    """The argv of a case's command: `lrid ARGS`, under `mpirun -np N` when np_, or a tool of tools/."""
    args = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    if args[0] in ("lrid_read", "plot_results"):
        return [PYTHON, os.path.join(SRC, "tools", args[0] + ".py")] + args[1:]
    lrid = [LRID] + args
    return (["mpirun", "--oversubscribe", "-np", str(np_)] + lrid) if np_ else lrid


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _descendants(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def run_cmd(argv, cwd, timeout, env):
    """Runs argv in cwd; returns (rc, stdout, stderr, seconds, timed_out). On time-out the whole
    process tree (mpirun and its ranks) is killed."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_limit_memory)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        for pid in reversed(_descendants(p.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
    return (p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0,
            timed_out)


DASHES = re.compile(r"^-{20,}$")
MPI_LINE = re.compile(r"^(mpirun|prterun|Primary job|\[[^\]\s]+:\d+\]|\[\[\d+,\d+\],\d+\]|Process name:|Exit code:)")


def error_lines(stderr):
    """The non-empty lines of stderr that are not OpenMPI's: its banners are blocks between two
    lines of dashes, plus single lines starting with mpirun, prterun, Primary job or [host:pid]."""
    out, inside = [], False
    for line in stderr.splitlines():
        s = line.strip()
        if DASHES.match(s):
            inside = not inside
            continue
        if inside or not s or MPI_LINE.match(s):
            continue
        out.append(line)
    return out


def snapshot(d):
    """{relative path: sha1 or 'link:target'} of the regular files and links under d."""
    snap = {}
    for root, dirs, files in os.walk(d):
        for name in files + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, d)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if os.path.islink(p):
                snap[rel] = "link:" + os.readlink(p)
            elif os.path.isfile(p) and not os.path.islink(p):
                h = hashlib.sha1()
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                snap[rel] = h.hexdigest() + f":{st.st_size}"
    return snap


class Skip(Exception):
    pass


class Ctx:
    """A case's private directory, a copy of the base inputs, and the mounts it made."""

    def __init__(self, d, base):
        self.d, self.base, self.mounts, self.procs = d, base, [], []

    def p(self, *names):
        return os.path.join(self.d, *names)

    def mount(self, name, size="64k"):
        path = self.p(name)
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip(f"cannot mount a tmpfs ({r.stderr.strip() or 'mount failed'})")
        self.mounts.append(path)
        return path

    def full(self, name, free=0, size="64k"):
        """A directory on a tmpfs of `size` with about `free` bytes left."""
        path = self.mount(name, size)
        total = os.statvfs(path).f_blocks * os.statvfs(path).f_frsize
        try:
            with open(os.path.join(path, ".filler"), "wb") as f:
                f.write(b"\0" * max(0, total - free))
        except OSError:
            pass
        return path

    def readonly(self, name, files=()):
        """A read-only directory (a tmpfs remounted ro: root ignores permission bits) holding
        copies of `files` (names in the case directory)."""
        path = self.mount(name, "16m")
        for f in files:
            src = self.p(f)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(path, os.path.basename(f)))
        r = subprocess.run(["mount", "-o", "remount,ro", path], capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip(f"cannot remount read-only ({r.stderr.strip()})")
        return path

    def background(self, argv):
        """A helper process for the case (e.g. the writer of a FIFO), killed when the case ends."""
        self.procs.append(subprocess.Popen(argv, cwd=self.d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True))

    def cleanup(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.procs = []
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)
        self.mounts = []


def build_base(work, jobs):
    """The real inputs every case starts from, built once: job.yaml (4 MLP runs, 10 steps),
    C.h5 (its campaign), O.h5 (another job's campaign), S0.h5/S1.h5 (its two shards), M.h5 (a
    model fitted on C.h5), R.h5 (a recording of run 0), res/ (an analysis of C.h5)."""
    base = os.path.join(work, "base")
    os.makedirs(base)
    with open(os.path.join(base, "job.yaml"), "w") as f:
        f.write(corpus.JOB)
    with open(os.path.join(base, "other.yaml"), "w") as f:
        f.write(corpus.JOB.replace("name: fz", "name: fzo").replace("model_seeds: [0]", "model_seeds: [1]"))
    env = base_env()

    def lrid(*args):
        rc, out, err, _, to = run_cmd([LRID] + list(args), base, 120, env)
        if rc != 0:
            sys.exit(f"fuzz: building the base inputs failed: lrid {' '.join(args)} (exit {rc})\n{out[-2000:]}{err[-2000:]}")

    first = [("train", "job.yaml", "--out", "C.h5", "-q"), ("train", "other.yaml", "--out", "O.h5", "-q"),
             ("train", "job.yaml", "--shard", "0/2", "--out", "S0.h5", "-q"),
             ("train", "job.yaml", "--shard", "1/2", "--out", "S1.h5", "-q"),
             ("train", "job.yaml", "--run", "0", "--record-activations", "R.h5", "-q")]
    second = [("fit", "C.h5", "--out", "M.h5", "-q"),
              ("analyze", "C.h5", "--out", "res", "--sweeps", "observable_class,trajectory,measurement,importance",
               "--no-plots", "-q")]
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
        list(ex.map(lambda a: lrid(*a), first))
        list(ex.map(lambda a: lrid(*a), second))
    for name in os.listdir(base):
        if name.endswith(".ckpt") or name.endswith(".lock"):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    return base


def copy_base(base, d):
    for name in os.listdir(base):
        s = os.path.join(base, name)
        (shutil.copytree if os.path.isdir(s) else shutil.copy)(s, os.path.join(d, name))


def judge(case, rc, out, err, timed_out, before, after):
    """The problems of one case's run (empty: it held)."""
    problems = []
    lines = error_lines(err)
    both = out + err
    crashed = (rc is not None and (rc < 0 or rc >= 128)) or re.search(
        r"exited on signal|Segmentation fault|core dumped|Aborted|terminate called", both)
    if timed_out:
        problems.append(f"hang (killed after {case.t} s)")
    elif crashed:
        sig = -rc if rc < 0 else rc - 128 if rc >= 128 else None
        m = re.search(r"exited on signal (\d+)", both)
        if m:
            sig = int(m.group(1))
        name = signal.Signals(sig).name if sig and 0 < sig < 65 else "?"
        problems.append(f"crash ({name})")
    elif rc == 1:
        msg = next((l for l in lines if "internal error" in l or "Error" in l), lines[0] if lines else "")
        problems.append(f"internal error: {msg.strip()[:160]}")
    elif rc not in (0, 2):
        problems.append(f"exit {rc}")
    elif rc == 0 and 0 not in case.expect:
        problems.append("silent acceptance (exit 0 on bad input)")
    elif rc == 2 and 2 not in case.expect:
        problems.append(f"refused valid input: {(lines[0] if lines else '').strip()[:160]}")
    if rc == 2 and not timed_out:
        if len(lines) != 1:
            problems.append("no error line" if not lines else f"{len(lines)} error lines")
        elif case.names and not any(n.lower() in lines[0].lower() for n in case.names):
            problems.append(f"the line does not name {case.names[0]!r}")
    if "Traceback (most recent call last)" in both:
        problems.append("Python traceback")
    changed = [p for p in before if p not in case.may_change and not any(
        p.startswith(m.rstrip("/") + "/") for m in case.may_change)]
    for p in changed:
        if p not in after:
            problems.append(f"deleted input {p}")
        elif after[p] != before[p]:
            problems.append(f"changed input {p}")
    left = [p for p in after if p not in before and re.search(r"\.tmp(\.|$)", os.path.basename(p))]
    if left:
        problems.append("left " + ", ".join(left))
    if case.check and not timed_out:
        msg = case.check(rc, out, err)
        if msg:
            problems.append(msg)
    return problems, lines


def prune(d, base_snap):
    """Removes from a failed case's directory the files identical to the base inputs (kept for
    inspection: what the case damaged and what the command left)."""
    after = snapshot(d)
    for rel, h in after.items():
        if base_snap.get(rel) == h:
            try:
                os.remove(os.path.join(d, rel))
            except OSError:
                pass


def run_case(case, base, work, keep, base_snap):
    d = os.path.join(work, case.id)
    os.makedirs(d)
    copy_base(base, d)
    ctx = Ctx(d, base)
    rec = {"id": case.id, "cls": case.cls, "kind": case.kind, "cmd": case.cmd if isinstance(case.cmd, str) else
           " ".join(shlex.quote(a) for a in case.cmd), "np": case.np, "expect": sorted(case.expect),
           "from_issue": case.issue, "extended": case.extended}
    try:
        try:
            if case.build:
                case.build(ctx)
        except Skip as e:
            rec.update(skipped=str(e))
            return rec
        before = snapshot(d)
        rc, out, err, secs, timed_out = run_cmd(argv_of(case.cmd, case.np), d, case.t, base_env())
        after = snapshot(d)
        problems, lines = judge(case, rc, out, err, timed_out, before, after)
        rec.update(rc=rc, seconds=round(secs, 2), timed_out=timed_out, lines=[l[:400] for l in lines[:6]],
                   nlines=len(lines),
                   problems=problems, stdout_tail=out[-600:], stderr_tail=err[-1500:],
                   new_files=sorted(p for p in after if p not in before)[:12])
        return rec
    finally:
        ctx.cleanup()
        if not keep:
            if rec.get("problems"):
                prune(d, base_snap)
            else:
                shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="lrid's fuzz corpus: damaged inputs of every kind (issue 26).")
    ap.add_argument("--only", help="run only the cases whose id matches this regular expression")
    ap.add_argument("--all", action="store_true", help="also the extended corpus (cases.EXTENDED: about 2x the time)")
    ap.add_argument("--open", action="store_true",
                    help="also the cases known to fail still (cases.KNOWN_OPEN, each with its class and reason)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep every case directory")
    ap.add_argument("--json", help="write every case's outcome to this JSON file")
    a = ap.parse_args()
    cases = corpus.cases()
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        sys.exit(f"fuzz: duplicate case ids {sorted(dup)}")
    unknown = set(corpus.KNOWN_OPEN) - set(ids)
    if unknown:
        sys.exit(f"fuzz: KNOWN_OPEN names no case {sorted(unknown)}")
    if not a.all:
        cases = [c for c in cases if not c.extended]
    if not a.open:
        left_open = [c.id for c in cases if c.id in corpus.KNOWN_OPEN]
        cases = [c for c in cases if c.id not in corpus.KNOWN_OPEN]
        if left_open and not a.list:
            print(f"fuzz: {len(left_open)} known-open cases not run (cases.KNOWN_OPEN; --open runs them)")
    if a.only:
        cases = [c for c in cases if re.search(a.only, c.id)]
    if a.list:
        for c in cases:
            mpi = f"mpirun -np {c.np} " if c.np else ""
            cmd = c.cmd if isinstance(c.cmd, str) else " ".join(shlex.quote(x) for x in c.cmd)
            cmd = cmd.replace("\n", "\\n")
            print(f"{c.id:36} c{c.cls:<2} {c.kind:11} {'ext ' if c.extended else ''}expect "
                  f"{'/'.join(map(str, sorted(c.expect)))}  {mpi}{cmd[:110]}")
        print(f"{len(cases)} cases")
        return 0
    t0 = time.monotonic()
    work = lridtest.tempdir("lrid_fuzz_")
    base = build_base(work, a.jobs)
    base_snap = snapshot(base)
    print(f"fuzz: base inputs built in {time.monotonic() - t0:.1f} s", flush=True)
    results = []
    lock = threading.Lock()

    def one(c):
        r = run_case(c, base, work, a.keep, base_snap)
        with lock:
            if r.get("skipped"):
                print(f"SKIP {c.id}: {r['skipped']}", flush=True)
            elif r["problems"]:
                print(f"FAIL {c.id} [c{c.cls}] {c.kind}: {'; '.join(r['problems'])} (exit {r['rc']}, "
                      f"{r['nlines']} lines)", flush=True)
        return r

    # The slowest first (time limits of the cases most likely to hang), so the pool ends together.
    order = sorted(cases, key=lambda c: -c.t)
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
        results = list(ex.map(one, order))
    ran = [r for r in results if not r.get("skipped")]
    held = [r for r in ran if not r["problems"]]
    print()
    print(f"{'kind':12} {'cases':>5} {'held':>5} {'failed':>6} {'skipped':>7}")
    for k in KINDS:
        rk = [r for r in results if r["kind"] == k]
        sk = [r for r in rk if r.get("skipped")]
        hk = [r for r in rk if not r.get("skipped") and not r["problems"]]
        print(f"{k:12} {len(rk):5} {len(hk):5} {len(rk) - len(sk) - len(hk):6} {len(sk):7}")
    wall = time.monotonic() - t0
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"seconds": round(wall, 1), "lrid": LRID, "cases": sorted(results, key=lambda r: r["id"])}, f,
                      indent=1)
    skipped = len(results) - len(ran)
    print(f"fuzz: {len(ran)} cases, {len(held)} held" + (f", {skipped} skipped" if skipped else "") +
          f" ({wall:.0f} s)")
    for r in ran:
        if r["problems"]:
            lridtest.failures.append(r["id"])
    lridtest.finish()


if __name__ == "__main__":
    main()
