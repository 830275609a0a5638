#!/usr/bin/env bash
# The Lmod modulefile (share/lrid/modulefiles/lrid/<version>.lua): in a bash login shell,
# `module use P/share/lrid/modulefiles && module load lrid` puts lrid on PATH and lrid_read on
# PYTHONPATH and sets LRID_HOME; `module unload` takes them away. Then a cluster profile with
# `modules: [lrid/<version>]`: the set-up the sbatch scripts run loads the module in a batch shell
# (no login scripts read) and finds the module's lrid. Needs Debian's lmod (tools/setup.sh).
set -uo pipefail
source "$(dirname "$0")/install_lib.inc"
[[ -f /etc/profile.d/lmod.sh ]] || { bad "Lmod is not installed (/etc/profile.d/lmod.sh; apt-get install lmod)"; exit 1; }
P=$T/prefix
install_into "$P" || exit 1
mkdir -p "$T/home"
clean_env=(env -i HOME="$T/home" USER=root LOGNAME=root TERM=dumb PATH=/usr/bin:/bin)

out=$("${clean_env[@]}" bash -l -c '
  echo "before: $(command -v lrid || echo none)"
  module use "$1/share/lrid/modulefiles" || exit 3
  module -t avail lrid 2>&1 | grep "^lrid/" | sed "s/^/avail: /"
  module load lrid || exit 4
  echo "lrid: $(command -v lrid)"
  echo "lrid_read command: $(command -v lrid_read)"
  echo "LRID_HOME: $LRID_HOME"
  lrid --version | sed "s/^/version: /"
  /usr/bin/python3 -B -c "import lrid_read, sys; print(\"lrid_read module:\", lrid_read.__file__)"
  lrid_read --help > /dev/null && echo "lrid_read runs"
  module unload lrid
  echo "after unload: $(command -v lrid || echo none) ${LRID_HOME:-unset}"
' bash "$P" 2>&1); rc=$?
echo "$out"
((rc == 0)) || bad "the login shell exited $rc (3: module use failed, 4: module load failed)"
expect() { grep -qxF -- "$1" <<<"$out" && ok "$2" || bad "$2: no line '$1'"; }
expect "before: none" "no lrid on PATH before the module is loaded"
expect "avail: lrid/$VERSION" "module avail lists lrid/$VERSION"
expect "lrid: $P/bin/lrid" "module load lrid puts the installed lrid on PATH"
expect "lrid_read command: $P/bin/lrid_read" "... and the lrid_read command"
expect "lrid_read module: $P/lib/python3/dist-packages/lrid_read.py" "... and the lrid_read module on PYTHONPATH"
expect "LRID_HOME: $P/share/lrid" "... and sets LRID_HOME"
expect "version: data directory: $P/share/lrid (from LRID_HOME)" "lrid --version names the module's data directory"
expect "lrid_read runs" "lrid_read --help runs"
expect "after unload: none unset" "module unload lrid takes them away"

# A profile that loads lrid from the module: the scripts' set-up finds the module's lrid.
cat > "$T/modules.yaml" <<YAML
name: modules
shard: {tasks_per_node: 1, time: "00:10:00"}
launcher: srun --mpi=pmix
setup: ["module use $P/share/lrid/modulefiles"]
modules: [lrid/$VERSION]
YAML
if "$P/bin/lrid" submit "$SRC/jobs/smoke.yaml" --cluster "$T/modules.yaml" --shards 2 --dir "$T/c" --dry-run > "$T/dry.out" 2> "$T/dry.err"; then
  ok "lrid submit --dry-run with modules: [lrid/$VERSION]"
else bad "lrid submit --dry-run with modules:"; cat "$T/dry.err"; fi
grep -q "^set +u; module load lrid/$VERSION; set -u$" "$T/dry.out" && grep -q "^LRID=lrid$" "$T/dry.out" &&
  ok "the scripts load the module and run the lrid it provides (LRID=lrid)" ||
  { bad "no 'module load lrid/$VERSION' / LRID=lrid in the scripts:"; sed -n '/site set-up/,/^DIR=/p' "$T/dry.out"; }
# Each script's lines from `set -euo pipefail` to `DIR=...`, run by a batch shell: a bash that
# read no login scripts (Slurm's batch step), under the scripts' own set -euo pipefail.
for script in shards reduce; do
  awk -v s="# ===== $T/c/$script.sbatch" '$0 == s {on = 1; next} /^# =====/ {on = 0} on' "$T/dry.out" |
    sed -n '/^set -euo pipefail/,/^DIR=/p' > "$T/$script.setup"
  echo 'echo "resolved: $(command -v "$LRID")"' >> "$T/$script.setup"
  got=$("${clean_env[@]}" bash "$T/$script.setup" 2>&1)
  if grep -qxF "resolved: $P/bin/lrid" <<<"$got"; then ok "$script.sbatch's set-up in a batch shell: module loaded, \$LRID is $P/bin/lrid"
  else bad "$script.sbatch's set-up in a batch shell:"; echo "$got"; cat "$T/$script.setup"; fi
done
# A module that does not exist stops the script with the module system's error.
sed "s|lrid/$VERSION|lrid/0.0.0-missing|" "$T/shards.setup" > "$T/missing.setup"
if "${clean_env[@]}" bash "$T/missing.setup" > "$T/missing.out" 2>&1; then bad "a missing module did not stop the script"; cat "$T/missing.out"
else ok "a missing module stops the script (exit non-zero)"; fi
# A module entry that is not one name is refused (exit 2, one line naming the key).
printf 'name: m\nmodules: ["lrid/0.1.0; rm -rf /"]\n' > "$T/bad.yaml"
err=$("$P/bin/lrid" submit "$SRC/jobs/smoke.yaml" --cluster "$T/bad.yaml" --shards 1 --dir "$T/b" --dry-run 2>&1 >/dev/null); rc=$?
[[ $rc == 2 && $err == *"modules[0]"* ]] && ok "modules: a shell line instead of a name is refused: $err" || bad "bad modules entry: rc $rc: $err"
echo "$failures failure(s)"
