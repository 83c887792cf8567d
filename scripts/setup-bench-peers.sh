#!/usr/bin/env bash
# Installs the peers the benchmarks compare with that scripts/setup-deps.sh does not (bwrap,
# runsc and hyperfine come from there): Anthropic's sandbox-runtime (`srt`, from npm) with the
# socat and ripgrep it needs (Debian). Idempotent: what is present is skipped. Optional: the
# benchmarks leave a missing peer's columns empty; no test needs it.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in socat ripgrep nodejs npm; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian (a developer's nvm): then they are not missing.
if command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-bench-peers: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if command -v srt >/dev/null; then
  echo "setup-bench-peers: srt $(srt --version 2>/dev/null || echo present)"
else
  echo "setup-bench-peers: installing @anthropic-ai/sandbox-runtime (npm)"
  $SUDO npm install -g --no-fund --no-audit @anthropic-ai/sandbox-runtime
fi
