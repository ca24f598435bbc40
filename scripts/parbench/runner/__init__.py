"""The runner: a whole benchmark sweep, one process per family (the sweep verb is in
pipeline.py, which analyses, checks, plots and reports after it).

A family is one (workload, model) pair, or one primitive family such as
overhead/tasks/pool. Each runs as its own subprocess of the benchmark binary
(so OpenMP's or oneTBB's threads of one family never disturb the next), with
Google Benchmark's JSON written to a temporary file and renamed into raw/ only
when the family finished: raw/ never holds half a file. sweep.json records
every family's status and is rewritten atomically after each one, so Ctrl-C
(or SIGTERM) keeps every finished family and --resume DIR goes on from there.

OpenMP runs with libgomp's default wait policy (the user's OMP_WAIT_POLICY if
set); families whose figures depend on the policy (their benchmarks carry a
wait:<policy> argument) run once per policy of the config's
omp_wait_policies, each in its own process.

Each family's disturbance is measured: the CPU time stolen by the hypervisor
and taken by other processes while it ran, as a fraction of the machine's CPU
capacity (/proc/stat, less the family's and the sweep's own CPU time). A
family disturbed beyond the config's disturbance_max (and by at least 0.1
CPU-seconds, the resolution of /proc/stat) is run again, at most
disturbance_reruns times, until an attempt is quiet or a re-run is about as
disturbed as before (then the disturbance is the family's own: a vCPU woken
from idle is counted as stolen while the hypervisor schedules it); the least
disturbed attempt is kept in raw/, the others in rejected/, and every
attempt's figures in sweep.json and in the raw file's context.

Modules: sweep (the folder's state, the families in order), family (one family's process and
attempts), tracks (the C++ binary and the Python track), mpi (launcher and loopback),
disturbance, progress.
"""
