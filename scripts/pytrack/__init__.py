"""parbench's Python track: the same workloads and primitives under CPython's
threading, multiprocessing, concurrent.futures and asyncio, written as Google
Benchmark JSON so the sweep, analysis and report treat them like the C++ models.

Standard library only. Adding a model, a workload or a primitive family is one
module in models/, workloads/ or primitives/ that calls the register function
of registry.py at import time.
"""
