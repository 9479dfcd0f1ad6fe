"""Inbound webhooks from git hosts: a push to a repository's remote refreshes what depends on it.

At the top of `instances`, beside notifications: it fetches through `branching.workspace` and
tells people about features that went stale through `instances.notifications`.
"""
