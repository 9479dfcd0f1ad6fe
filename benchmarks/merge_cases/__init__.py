"""Seeded merge cases for ``benchmarks/merge_agreement.py`` and ``benchmarks/merge.py``.

- ``content``: a Salesforce DX project's files (Apex, LWC, fields, permission sets) and git;
- ``scenarios``: paired operations on two branches (edit/edit, renames, file/dir, ...);
- ``cases``: the commits, by fast-import: generated, from real projects' files, or chaos.
"""
