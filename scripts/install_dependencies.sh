#!/usr/bin/env bash
# Installs the Debian packages that building and testing adjoint needs, and
# with --bench also Google Benchmark. Packages already installed are skipped.
# Runs apt-get through sudo unless the caller is root.
set -euo pipefail

packages=(g++ cmake make libboost-dev libboost-test-dev
          libboost-program-options-dev libfmt-dev libopenblas-dev)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libbenchmark-dev)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
((${#missing[@]})) || exit 0

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  as_root=(sudo)
fi
echo "Installing: ${missing[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends "${missing[@]}"
