#!/usr/bin/env bash
# Regenerates the figures in docs/images that README.md shows, with the
# example programs' --plot and --graph options. Build the programs first:
#   cmake --preset release
#   cmake --build --preset release --target gradient_descent optimizers
# Needs gnuplot and Graphviz (scripts/install_dependencies.sh --pictures).
# gnuplot 5.4 and Graphviz 2.43 write the same SVG file for the same data,
# so an unchanged figure shows no difference in git.
set -euo pipefail
cd "$(dirname "$0")/.."

examples=build/release/examples
images=docs/images
mkdir -p "$images"

# Runs a command whose exit status must be `expected`, without its stdout:
# a figure of a diverging run comes from a run that exits with status 3.
run() {
  local expected=$1
  shift
  local status=0
  "$@" >/dev/null || status=$?
  if [[ $status != "$expected" ]]; then
    echo "render_figures.sh: '$*' exited with status $status," \
      "expected $expected" >&2
    exit 1
  fi
}

gradient_descent=$examples/gradient_descent/gradient_descent
hubble=(--data examples/data/hubble1929.csv --x-column distance_mpc
        --z-column velocity_km_s)
run 0 "$gradient_descent" --plot "$images/gradient_descent.svg"
run 3 "$gradient_descent" --lr 1.5 \
  --plot "$images/gradient_descent_diverging.svg"
run 0 "$gradient_descent" "${hubble[@]}" --lr 0.015 \
  --plot "$images/hubble_fit.svg"

# The graph of the first step, drawn by Graphviz from the DOT text.
graph=$(mktemp)
trap 'rm -f "$graph"' EXIT
run 0 "$gradient_descent" --graph "$graph"
dot -Tsvg "$graph" -o "$images/gradient_descent_graph.svg"

# The trajectory files of the comparison are not kept.
trajectories=$(mktemp -d)
trap 'rm -f "$graph"; rm -rf "$trajectories"' EXIT
run 0 "$examples/optimizers/optimizers" --trace-dir "$trajectories" \
  --plot "$images/optimizers.svg"

ls -l "$images"
