"""Benchmarks: ``python -m streamlab bench runtime`` compares runtime clients (see runtime.py)."""
