"""Environments: the hierarchy of instances, their org connections, the pipeline diagram."""
