"""Workloads of the Python track, one module each, with the C++ names, inputs and answers."""
