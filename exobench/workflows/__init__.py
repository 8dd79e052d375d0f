"""Workflows that chain several packages: the demo and parameter sweeps.

- :mod:`~exobench.workflows.demo`: ``exobench demo``, the whole chain on the default
  challenge (build, baselines, scores, leaderboard, report);
- :mod:`~exobench.workflows.sweep`: ``exobench sweep``, a baseline over a grid of
  parameters, each set scored.
"""
