#!/usr/bin/env bash
# Configuring against a LibTorch of the pre-C++11 ABI (PyTorch wheels before 2.7) stops at once
# with one message naming the ABI, instead of failing later with undefined references. The
# "old" LibTorch is the system's own, seen through a TorchConfig.cmake that reports ABI 0; the
# same wrapper reporting ABI 1 configures.
set -uo pipefail
: "${LRID_SOURCE_DIR:?LRID_SOURCE_DIR not set}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
real=$(dirname "$(find /usr/lib /usr/share /usr/local -name TorchConfig.cmake -path '*Torch*' 2>/dev/null | head -1)")
[[ -d $real ]] || { echo "FAIL: no TorchConfig.cmake on this machine"; exit 1; }
fail=0
for abi in 0 1; do
  mkdir -p "$T/torch$abi"
  cat > "$T/torch$abi/TorchConfig.cmake" <<CFG
include("$real/TorchConfig.cmake")
set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=$abi")
CFG
  cp "$real/TorchConfigVersion.cmake" "$T/torch$abi/" 2>/dev/null
  cmake -S "$LRID_SOURCE_DIR" -B "$T/build$abi" -G Ninja -DTorch_DIR="$T/torch$abi" > "$T/log$abi" 2>&1
  rc[$abi]=$?
done
msg=$(tr -s ' \n' '  ' < "$T/log0")  # CMake wraps its messages
if [[ ${rc[0]} -ne 0 && $msg == *"was built with the pre-C++11 ABI (TORCH_CXX_FLAGS: -D_GLIBCXX_USE_CXX11_ABI=0)"* ]]; then
  echo "ok   ABI 0: configure stops with the message naming the ABI"
else
  echo "FAIL ABI 0: exit ${rc[0]}, no ABI message"; tail -20 "$T/log0"; fail=1
fi
if [[ ${rc[1]} -eq 0 ]]; then echo "ok   ABI 1: configures"; else echo "FAIL ABI 1: exit ${rc[1]}"; tail -20 "$T/log1"; fail=1; fi
exit $fail
