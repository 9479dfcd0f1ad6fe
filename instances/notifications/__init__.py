"""Notifications: people subscribe to pipeline events and hear about them by email or webhook.

It sits at the top of `instances`: it observes promotions, deployments and features, and
nothing below it imports it. Delivery runs as tasks, after the transaction that caused the
event commits, so a slow or failing endpoint never touches a promotion.
"""
