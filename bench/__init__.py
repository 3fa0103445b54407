"""Benchmarks that print figures. Run them all with `make bench` (python -m bench)."""
