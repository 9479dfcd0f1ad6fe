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
import time
from collections.abc import Callable
from typing import Any

from dulwich.object_store import DiskObjectStore
from dulwich.objects import ObjectID
from dulwich.pack import PackFileDisappeared

__all__ = ["freshen"]

# A file whose time is more recent than this is left as it is: it is days from any grace period,
# and not touching it spares a metadata write per re-used object (8 writers of the same blob).
FRESH_ENOUGH_SECONDS = 3600.0


def _touch(path: str) -> None:
    """Refresh the file's time unless it is recent already (FileNotFoundError when absent)."""
    if time.time() - os.stat(path).st_mtime > FRESH_ENOUGH_SECONDS:
        os.utime(path)


def freshen(store: Any, sha: bytes, packed: Callable[[bytes], bool] | None = None) -> bool:
    """True when `store` holds the object `sha` (hex) and its date is now fresh; False when the
    caller must write it (absent, or a file this process may not touch: a new copy is fresh).

    The loose file is looked at first (one `stat`); `packed`, when given, says whether a pack
    holds the object (a faster lookup than dulwich's; a False only costs a loose copy)."""
    if not isinstance(store, DiskObjectStore):
        return sha in store  # in memory: nothing is ever pruned
    name = sha.decode("ascii")
    try:
        # the loose file's path, as dulwich spells it (`hex_to_filename`), without its layers
        _touch(os.path.join(store.path, name[:2], name[2:]))
        return True
    except FileNotFoundError:
        pass
    except PermissionError:
        return False
    # The pack lookup readers use, cached packs first.
    object_id = ObjectID(sha)
    if not (packed or store.contains_packed)(object_id):
        return False
    for pack in store._iter_cached_packs():
        try:
            if object_id not in pack:
                continue
            _touch(pack._data_path)
        except (PackFileDisappeared, FileNotFoundError):
            continue  # repacked meanwhile: look on, or write it again
        except PermissionError:
            return False
        return True
    return False
