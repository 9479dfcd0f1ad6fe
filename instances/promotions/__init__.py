"""Promotions: the rules, routing, the queue per target, the engine's steps and its tasks."""
