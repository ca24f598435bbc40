#!/usr/bin/env bash
# The installed package serves another project: installs this build into a
# temporary prefix, configures and builds tests/consumer against it
# (find_package(parbench CONFIG), parbench::core) and runs it.
# Usage: consumer_test.sh cmake build-dir source-dir c++-compiler
set -eu
cmake=$1 build=$2 source=$3 cxx=$4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/parbench-consumer.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
quiet() {  # runs a step, showing its output only if it fails
  "$@" >"$scratch/step.log" 2>&1 || { cat "$scratch/step.log"; echo "FAIL: $*"; exit 1; }
}
quiet "$cmake" --install "$build" --prefix "$scratch/prefix"
quiet "$cmake" -S "$source/tests/consumer" -B "$scratch/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_CXX_COMPILER="$cxx"
quiet "$cmake" --build "$scratch/build" -j2
"$scratch/build/consumer"
"$scratch/prefix/bin/parbench_bench" --version
