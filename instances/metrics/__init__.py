"""Delivery metrics: DORA's four measures and the promotion queue, per instance and repository."""
