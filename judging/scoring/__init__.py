"""The scoring core: from scores to a ranking, its statistics and ties, the jury assignment,
and the combination of the jury's scores with a vote.

Pure: the standard library only, plain values in and plain values out; no Flask, no
SQLAlchemy, no judging.models or judging.services (tests/test_scoring_core.py checks it).
"""
