"""Execution models of the Python track, one module each (py_ prefix)."""
