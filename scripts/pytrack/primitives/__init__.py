"""Primitive benchmarks of the Python track (py/ names), one module per family."""
