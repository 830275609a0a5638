"""Shared helpers of the Python script tests: the lrid binary, checks, running commands."""
import os
import shutil
import subprocess
import sys
import tempfile

LRID = os.environ["LRID"]
SRC = os.environ["LRID_SOURCE_DIR"]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
failures = []


_tempdirs = []


def tempdir(prefix):
    """A new directory under $TMPDIR (default /tmp); finish() removes it when every check passed
    and names it, kept for inspection, when one failed."""
    d = tempfile.mkdtemp(prefix=prefix)
    _tempdirs.append(d)
    return d


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(args, np_=None, expect=0, cwd=None, env=None, show=False):
    """Runs `lrid ARGS` (under mpirun -np N when np_ is given) in `cwd` with `env` and checks its
    exit code; prints the command and its output when it fails (always with show=True)."""
    cmd = (MPIRUN + ["-np", str(np_)] if np_ else []) + [LRID] + args
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    if p.returncode != expect or show:
        print(f"$ lrid {' '.join(args)}\n{p.stdout[-3000:]}{p.stderr[-3000:]}", flush=True)
    check(p.returncode == expect, f"lrid {' '.join(args[:4])} ... exits {expect} (got {p.returncode})")
    return p


def finish():
    print(f"{len(failures)} checks failed" if failures else "all checks passed")
    for d in _tempdirs:
        if failures:
            print(f"kept for inspection: {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)
    sys.exit(1 if failures else 0)
