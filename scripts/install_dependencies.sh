#!/usr/bin/env bash
# Installs the Debian packages that building and testing adjoint needs.
# Options, which may be combined:
#   --bench     also Google Benchmark, for the benchmarks
#   --pictures  also gnuplot-nox and graphviz. The examples' --plot option
#               needs gnuplot, and --graph files are drawn with Graphviz.
#               The tests that run them are skipped without them.
# Packages already installed are skipped. Runs apt-get through sudo unless
# the caller is root.
set -euo pipefail

packages=(g++ cmake make libboost-dev libboost-test-dev
          libboost-program-options-dev libfmt-dev libopenblas-dev)
for option in "$@"; do
  case "$option" in
    --bench) packages+=(libbenchmark-dev) ;;
    --pictures) packages+=(gnuplot-nox graphviz) ;;
    *)
      echo "install_dependencies.sh: unknown option '$option'; the options" \
        "are --bench and --pictures" >&2
      exit 2
      ;;
  esac
done

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
