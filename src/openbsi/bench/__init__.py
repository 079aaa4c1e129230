"""Benchmarks, one module per benchmark; `openbsi bench ...` (cli/bench.py) runs them.

Bench modules may import the stages they measure; no stage imports openbsi.bench.
"""
