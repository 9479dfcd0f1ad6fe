"""The pieces of ``benchmarks/scale.py``: the repository (``repository``), the git layer's
operations against git (``git_ops``), the database, pages and a promotion (``pages``)."""
