"""Benchmarks for casemgmt: page timings in-process, side-by-side comparisons, and a load test over HTTP.

`python -m benchmarks` measures; `python -m benchmarks.load` drives gunicorn with locust. See docs/benchmarks.md.
"""
