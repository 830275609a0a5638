#!/usr/bin/env bash
# tools/gpu/check.sh on a machine without a GPU or a CUDA PyTorch (the parts that can run here):
#  a. --parts probe,configure: the probe runs, configure runs CMake and reports the missing CUDA
#     LibTorch in one line, exit status 1;
#  b. --seconds 60, every part, OUT set, with a cmake that hangs: configure is cut off at the
#     budget's cap (its cmake killed), the rest reported SKIP, the check over before 60 s, and
#     $OUT holds the table, the console log and the logs, the table already while configure ran;
#  c. a budget already spent (--seconds 31 leaves 1 s after the 30 s margin): every part SKIP,
#     nothing run (the cmake given is never called, no build directory), exit status 0;
#  d. an unknown part: exit status 2.
# ctest provides LRID_SOURCE_DIR and PYTHON (Debian's python3: a CPU-only torch, or none).
set -uo pipefail
: "${LRID_SOURCE_DIR:?LRID_SOURCE_DIR not set}"
PYTHON="${PYTHON:-/usr/bin/python3}"
check="$LRID_SOURCE_DIR/tools/gpu/check.sh"
T="$(mktemp -d /tmp/lrid-gpu-check.XXXXXX)"
fail=0
trap 'if ((fail)); then echo "gpu_check: failed; kept $T"; else rm -rf "$T"; fi' EXIT
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
unset OUT LRID_GPU_BUILD CMAKE NINJA

# a cmake that answers --version and else hangs (b), and one that records every call (c)
cat > "$T/hang-cmake" <<EOF
#!/bin/sh
[ "\$1" = --version ] && { echo "cmake version 3.25.1"; exit 0; }
echo \$\$ > "$T/hang-cmake.pid"
exec sleep 300
EOF
cat > "$T/mark-cmake" <<EOF
#!/bin/sh
echo "\$@" >> "$T/mark-cmake.calls"
[ "\$1" = --version ] && echo "cmake version 3.25.1"
exit 0
EOF
chmod +x "$T/hang-cmake" "$T/mark-cmake"

# --- a. probe + configure: the missing CUDA LibTorch in one line ----------------------------
t0=$(date +%s)
LRID_GPU_BUILD="$T/a" PYTHON="$PYTHON" "$check" --parts probe,configure --seconds 120 > "$T/a.out" 2>&1
rc=$?
n=$(grep -c '^FAIL  configure: no CUDA LibTorch' "$T/a.out")
line=$(grep -m1 '^FAIL  configure: ' "$T/a.out")
if ((rc == 1 && n == 2)) && [[ $line == *'(CUDA: OFF)'* || $line == *'found no LibTorch'* ]] &&
   [[ -f $T/a/logs/configure.log ]] && grep -q '^FAIL  probe: missing: .*CUDA PyTorch' "$T/a.out"; then
  ok "a. probe + configure: exit 1, one line: ${line:0:160}... [$(( $(date +%s) - t0 )) s]"
else  # (n == 2: the line as the part ends, and again in the table at the end)
  bad "a. probe + configure: exit $rc, $n 'FAIL  configure: no CUDA LibTorch' lines (want 2: the row and the table)"
  tail -30 "$T/a.out"
fi
if grep -qE '^(PASS|FAIL|SKIP)  (build|smoke|throughput|plastic|nccl)' "$T/a.out"; then
  bad "a. --parts probe,configure ran or listed other parts"; grep -E '^(PASS|FAIL|SKIP)  ' "$T/a.out"
fi

# --- b. --seconds 60: cut off at the cap, over before 60 s, $OUT written as it goes -----------
out="$T/out-b"
t0=$(date +%s)
OUT="$out" CMAKE="$T/hang-cmake" LRID_GPU_BUILD="$T/b" PYTHON="$PYTHON" "$check" --seconds 60 > "$T/b.out" 2>&1 &
pid=$!
seen=0
while kill -0 "$pid" 2> /dev/null && (($(date +%s) - t0 < 75)); do  # (a watchdog, should the cap fail)
  # the table in $OUT while configure runs
  ((seen)) || ! grep -q '^\.\.\.   configure: running' "$out/gpu-check-table.txt" 2> /dev/null || seen=1
  sleep 0.5
done
kill -0 "$pid" 2> /dev/null && kill "$pid"
wait "$pid"
rc=$?
took=$(( $(date +%s) - t0 ))
rows=$(grep -cE '^(PASS|FAIL|SKIP)  ' "$out/gpu-check-table.txt" 2> /dev/null)
cmake_pid=$(cat "$T/hang-cmake.pid" 2> /dev/null)
if ((took < 60 && rc == 1 && seen)); then ok "b. --seconds 60: over in $took s, exit 1, the table in \$OUT while configure ran"
else bad "b. --seconds 60: over in $took s (want < 60), exit $rc (want 1), table seen during configure: $seen"; tail -30 "$T/b.out"; fi
if grep -q "^FAIL  configure: cmake was cut off at the budget's cap" "$out/gpu-check-table.txt" 2> /dev/null &&
   [[ -n $cmake_pid ]] && ! kill -0 "$cmake_pid" 2> /dev/null; then
  ok "b. configure cut off at the cap, its cmake ended"
else
  bad "b. configure not cut off at the cap (or its cmake, pid ${cmake_pid:-?}, still runs)"
  [[ -n $cmake_pid ]] && kill "$cmake_pid" 2> /dev/null
fi
skips=$(grep -cE "^SKIP  (build|smoke|throughput|plastic|nccl|throughput-full): not run: the budget is spent" "$out/gpu-check-table.txt" 2> /dev/null)
if ((rows == 8 && skips == 6)); then ok "b. the table in \$OUT: 8 rows, the 6 parts after configure SKIP"
else bad "b. the table in \$OUT: $rows rows (want 8), $skips budget SKIPs (want 6)"; cat "$out/gpu-check-table.txt" 2> /dev/null; fi
if tar tzf "$out/gpu-check-logs.tar.gz" 2> /dev/null | grep -qx 'logs/configure.log' &&
   grep -q '^== GPU check: .* s of --seconds 60' "$out/gpu-check.log" 2> /dev/null; then
  ok "b. \$OUT: gpu-check-logs.tar.gz (logs/configure.log in it) and gpu-check.log (to its last line)"
else
  bad "b. \$OUT lacks the logs: $(find "$out" -type f 2> /dev/null | paste -sd' ')"
fi

# --- c. a budget already spent: SKIP, nothing run ---------------------------------------------
CMAKE="$T/mark-cmake" LRID_GPU_BUILD="$T/c" PYTHON="$PYTHON" "$check" --parts probe,configure,build --seconds 31 > "$T/c.out" 2>&1
rc=$?
skips=$(grep -cE '^SKIP  (probe|configure|build): not run: the budget is spent' "$T/c.out")
if ((rc == 0 && skips == 6)) && [[ ! -e $T/mark-cmake.calls && ! -e $T/c/build && ! -e $T/c/logs/configure.log ]]; then
  ok "c. budget spent: probe, configure, build SKIP, nothing run, exit 0"
else
  bad "c. budget spent: exit $rc, $skips SKIP lines (want 6: three rows, and the table), cmake calls: $(wc -l < "$T/mark-cmake.calls" 2> /dev/null), in $T/c: $(find "$T/c" -mindepth 1 -maxdepth 1 | paste -sd' ')"
  cat "$T/c.out"
fi

# --- d. an unknown part ----------------------------------------------------------------------
LRID_GPU_BUILD="$T/d" "$check" --parts probe,nonsense > "$T/d.out" 2>&1
rc=$?
if ((rc == 2)) && grep -q "unknown part 'nonsense'" "$T/d.out"; then ok "d. unknown part: exit 2"
else bad "d. unknown part: exit $rc"; cat "$T/d.out"; fi
exit $fail
