"""A writer that finds its object already stored refreshes the object's date, as git does.

Housekeeping prunes unreachable objects older than a grace period, judged by a loose object's
file time or by the time of the pack holding it. Our writers skip an object that is already
there: a merge whose result tree is one an old dry run wrote weeks ago finds it stored, old and
unreachable. Without a fresh date, housekeeping could prune it before the merge's commit reaches
a ref. So a skipped write freshens instead (git's `freshen_object`): the loose file's time, or
the pack's.
"""

from __future__ import annotations

import os
from typing import Any

from dulwich.object_store import DiskObjectStore
from dulwich.objects import ObjectID
from dulwich.pack import PackFileDisappeared

__all__ = ["freshen"]


def freshen(store: Any, sha: bytes) -> bool:
    """True when `store` holds the object `sha` (hex) and its date is now fresh; False when the
    caller must write it (absent, or a file this process may not touch: a new copy is fresh)."""
    if not isinstance(store, DiskObjectStore):
        return sha in store  # in memory: nothing is ever pruned
    object_id = ObjectID(sha)
    try:
        os.utime(store._get_shafile_path(object_id))
        return True
    except FileNotFoundError:
        pass
    except PermissionError:
        return False
    for pack in store.packs:
        try:
            if object_id not in pack:
                continue
            os.utime(pack._data_path)
        except (PackFileDisappeared, FileNotFoundError):
            continue  # repacked meanwhile: look on, or write it again
        except PermissionError:
            return False
        return True
    return False
