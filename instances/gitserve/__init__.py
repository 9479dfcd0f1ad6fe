"""git over HTTP(S) from releasemgr itself, for its local repositories (dulwich's smart HTTP).

At the top of `instances`: a push is checked against instances and features (rules.py) and
then refreshed like a webhook's push (instances.hooks.refresh).
"""
