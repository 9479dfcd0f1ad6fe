"""Signals the branching app sends to the apps above it (it never imports them)."""

from django.dispatch import Signal

# Sent by the housekeeping task (`branching.tasks.housekeeping`) before it prunes a storage,
# with `storage_key`: each receiver returns the commit ids (hex) in that storage that something
# recorded and may still need (a promotion waiting for approval, running or to be retried; a
# deployment not done), so that what they reach is kept even when no ref reaches it.
commits_still_needed = Signal()
