"""Benchmarks: `make bench` runs bench/earn.py."""
