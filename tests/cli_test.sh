#!/usr/bin/env bash
# Bad input to the benchmark binary: one clear line on stderr, exit status 2,
# never a crash. Usage: cli_test.sh path/to/parbench_bench
set -u
bench=$1
failures=0
expect_error() {  # expect_error "pattern" args...
  local pattern=$1
  shift
  local err status
  err=$("$bench" "$@" 2>&1 >/dev/null)
  status=$?
  if [ "$status" -ne 2 ]; then
    echo "FAIL: '$*' exited $status, expected 2"; failures=$((failures + 1)); return
  fi
  if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || ! grep -q -- "$pattern" <<<"$err"; then
    echo "FAIL: '$*' printed: $err (expected one line matching '$pattern')"; failures=$((failures + 1)); return
  fi
  echo "ok: $* -> $err"
}
expect_error "unknown workload 'nope' (valid: .*primes" list --workloads=nope
expect_error "unknown model 'fibers' (valid: serial" selfcheck --models=fibers
expect_error "unknown model 'gpu' (valid: serial" selfcheck --skip-models=gpu
expect_error "worker count p must be a positive integer, got '0'" list --p=0
expect_error "worker count p must be a positive integer, got '-3'" list --p=-3
expect_error "worker count p must be a positive integer, got 'x'" list --p=2,x
expect_error "size 99 is out of range for workload 'fib'" selfcheck --workloads=fib --size=99
expect_error "size n must be a positive integer, got 'big'" selfcheck --size=big
expect_error "unknown option '--frobnicate'" --frobnicate
expect_error "scaling must be strong or weak" list --scaling=sideways
expect_error "Failed to match any benchmarks against regex: does_not_exist" --benchmark_filter=does_not_exist
expect_error "unknown primitive family 'bogus' (valid: all, none, or a prefix of" list --primitives=bogus
expect_error "option --primitives needs a value" list --primitives
# Good input still works.
"$bench" list --workloads=fib --models=serial >/dev/null || { echo "FAIL: list"; failures=$((failures + 1)); }
# Naming workloads selects workload families only; primitives run when named.
others=$("$bench" --workloads=fib --models=serial,pool --benchmark_list_tests=true | grep -v '^fib/')
[ -z "$others" ] || { echo "FAIL: --workloads=fib also selected: $others" | head -3; failures=$((failures + 1)); }
named=$("$bench" --primitives=spawn/thread --benchmark_list_tests=true)
[ "$named" = "spawn/thread/real_time" ] || { echo "FAIL: --primitives=spawn/thread selected: $named" | head -3; failures=$((failures + 1)); }
mixed=$("$bench" --workloads=fib --models=pool --primitives=overhead/tasks --benchmark_list_tests=true | cut -d/ -f1 | sort -u | tr '\n' ' ')
[ "$mixed" = "fib overhead " ] || { echo "FAIL: workloads + primitives selected: $mixed"; failures=$((failures + 1)); }
expect_error "--json is an option of list" selfcheck --json
expect_error "unknown option '-x'" -x
# list --json: one JSON object with every model list shows (label, group, launch), the limits,
# and only what --models/--workloads select.
python=/usr/bin/python3
listed=$("$bench" list | sed -n '/^Models:/,/^$/p' | awk '/^  [a-z]/ {print $1}' | sort | tr '\n' ' ')
catalogue=$("$bench" list --json | "$python" -c '
import json, sys
c = json.load(sys.stdin)
assert c["parbench_catalogue"] == 1
assert all(c["limits"][k] > 0 for k in ("max_workers", "max_concurrency", "max_repetitions"))
assert c["worker_counts"] and c["primitives"] and all(p["summary"] for p in c["primitives"])
for m in c["models"]:
    assert m["label"] and m["group"] in ("baseline", "threads", "processes", "coroutines", "distributed"), m
    assert m["launch"] in ("in-process", "fork", "launcher"), m
roles = {w["name"]: w["roles"] for w in c["workloads"]}
assert roles["granularity"] == ["metg"] and roles["amdahl_s05"] == ["amdahl_ground_truth"], roles
print(" ".join(sorted(m["name"] for m in c["models"])))') || catalogue="(not valid)"
[ "$catalogue " = "$listed" ] || { echo "FAIL: list --json models: $catalogue; list: $listed"; failures=$((failures + 1)); }
selected=$("$bench" list --json --models=pool --workloads=fib | "$python" -c '
import json, sys
c = json.load(sys.stdin)
print([m["name"] for m in c["models"]], [w["name"] for w in c["workloads"]], c["models"][0]["label"])')
[ "$selected" = "['pool'] ['fib'] pool" ] || { echo "FAIL: list --json --models=pool --workloads=fib: $selected"; failures=$((failures + 1)); }
# --help and --version answer, exit 0, whatever else is on the line.
usage=$("$bench" --help) && grep -q -- "--workloads=" <<<"$usage" && grep -q -- "--benchmark_" <<<"$usage" ||
  { echo "FAIL: --help"; failures=$((failures + 1)); }
"$bench" list -h --frobnicate | grep -q -- "--models=" || { echo "FAIL: -h"; failures=$((failures + 1)); }
version=$("$bench" --version)
grep -Eq '^parbench_bench [0-9]+\.[0-9]+\.[0-9]+ \(([0-9a-f]+|unknown)\)$' <<<"$version" ||
  { echo "FAIL: --version printed '$version'"; failures=$((failures + 1)); }
echo "cli: $failures failed"
[ "$failures" -eq 0 ]
