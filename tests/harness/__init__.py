"""Helpers shared by the tests and the benchmarks (bench/ puts the repository on sys.path).

Nothing here imports pytest or the service: a benchmark run as `python bench/x.py` uses it
as it is, and a test gets plain exceptions that fail it.
"""
