#!/usr/bin/env bash
# `lrid completion bash`: for every command, the options it completes are exactly the options
# its --help lists (both come from the command's option table, so a new option that the
# completion misses fails here), and completing in a real bash gives what a user expects.
set -uo pipefail
: "${LRID:?LRID (the lrid binary) not set}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
"$LRID" completion bash > "$T/lrid.bash" || { echo "FAIL: lrid completion bash exits $?"; exit 1; }
# The completion of `lrid CMD ...` (COMP_WORDS as bash would set them), one word per line.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _lrid; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$T/lrid.bash" "$@" | sort
}
expect() {  # expect "WANTED (sorted, one per line)" words...
  local want=$1; shift
  local got; got=$(complete_words "$@")
  if [[ $got == "$want" ]]; then echo "ok   '$*' -> $(tr '\n' ' ' <<<"$got")"; else
    echo "FAIL '$*': got [$(tr '\n' ' ' <<<"$got")], want [$(tr '\n' ' ' <<<"$want")]"; fail=1; fi
}
commands=$("$LRID" --help | awk '/^commands:/ {p = 1; next} p && NF == 0 {exit} p {print $1}')
for c in $commands; do
  from_help=$("$LRID" "$c" --help | grep -oE '^  (-[a-z] \[ )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort)
  expect "$from_help" lrid "$c" --
done
expect "$(printf '%s\n' $commands --help --version | sort)" lrid ""
expect "train" lrid tr
expect "$(printf '%s\n' --observable | sort)" lrid fit --obs
expect "$(printf '%s\n' --out | sort)" lrid train jobs/smoke.yaml --ou
expect "" lrid train jobs/smoke.yaml --out --   # the value of --out: a file name, not an option
expect "$(printf '%s\n' --dry-run | sort)" lrid resume DIR --dr
"$LRID" completion zsh >/dev/null 2>&1; rc=$?
[[ $rc == 2 ]] && echo "ok   completion zsh: exit 2" || { echo "FAIL: completion zsh exits $rc, not 2"; fail=1; }
exit $fail
