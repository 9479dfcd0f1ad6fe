"""Deployments: a Metadata API package from a git delta, sent to an org and watched."""
