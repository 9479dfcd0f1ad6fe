"""releasemgr from CI and scripts, over its HTTP API, with the standard library only."""

__version__ = "0.1.0"
