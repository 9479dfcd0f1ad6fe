"""What one delta collects, and how it reads the commit it is computed for.

`Work` is the state every handler of `branching.metadata.handlers` shares while
`branching.metadata.delta.compute_delta` walks a diff: the repository at the `to` commit (and
at `from`, for files compared element by element), and the `Delta` it fills.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dulwich.repo import Repo

from branching.git.storage import read_blob
from branching.metadata.forceignore import ForceIgnore
from branching.metadata.gitread import Snapshot
from branching.metadata.registry import META_SUFFIX

Members = dict[str, set[str]]

# sgd: "Why we should ignore recordTypes for destructive changes manifest? Because the
# operation is not enabled on the metadata API".
DESTRUCTIVE_ALWAYS_IGNORED = "recordTypes/"


@dataclass
class Delta:
    """The result of comparing two commits.

    `package` and `destructive` map a metadata type to member names. `files` are the source
    files (paths in the repository, at the `to` commit) the deployment needs; `pruned` holds
    the files deployed as a trimmed copy (path → content), which replace the original.
    """

    package: Members = field(default_factory=dict)
    destructive: Members = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    pruned: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # changed paths of no known type

    @property
    def empty(self) -> bool:
        return not self.package and not self.destructive


class Work:
    """Shared state of one delta: the repository at `to`, the collected answer."""

    def __init__(
        self, repo: Repo, from_commit: str | None, to_commit: str, ignore: ForceIgnore
    ) -> None:
        self.repo = repo
        self.from_commit = from_commit
        self.to_commit = to_commit
        self.ignore = ignore
        self.destructive_ignore = ForceIgnore(ignore.text + "\n" + DESTRUCTIVE_ALWAYS_IGNORED)
        self.delta = Delta()
        self.snapshot = Snapshot(repo, to_commit)
        self._copied: set[str] = set()

    # -- reading the `to` commit -------------------------------------------------------------

    def read(self, path: str) -> bytes | None:
        return self.snapshot.read(path)

    def read_old(self, path: str) -> bytes | None:
        if self.from_commit is None:
            return None
        try:
            return read_blob(self.repo, self.from_commit, path)
        except ValueError:
            return None

    def exists(self, path: str) -> bool:
        return self.snapshot.exists(path)

    def files_under(self, path: str) -> list[str]:
        """`git ls-tree -r --name-only <to> <path>`: the file itself or a folder's files."""
        return self.snapshot.files_under(path) if path.strip("/") else []

    # -- collecting ----------------------------------------------------------------------------

    def add(self, store: Members, mdtype: str, member: str) -> None:
        store.setdefault(mdtype, set()).add(member)

    def copy(self, path: str) -> None:
        """sgd's copyFiles: a file or a whole folder, unless ignored or already taken."""
        if path in self._copied or path in self.delta.pruned:
            return
        self._copied.add(path)
        if self.ignore.ignores(path):
            return
        for found in self.files_under(path):
            self.delta.files.add(found)

    def write(self, path: str, content: bytes) -> None:
        if path in self.delta.pruned or self.ignore.ignores(path):
            return
        self.delta.pruned[path] = content

    def write_pruned(self, path: str, content: bytes) -> None:
        """A pruned copy of an in-file type; in a full package nothing is pruned, so the file
        goes as it is, which is what SDR's conversion of the whole project writes (sgd's copy
        holds the same elements, but rewritten: a comment alone in an element moves to a line
        of its own)."""
        if self.from_commit is None:
            self.copy(path)
        else:
            self.write(path, content)


def base_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def strip_meta(name: str) -> str:
    return name[: -len(META_SUFFIX)] if name.endswith(META_SUFFIX) else name


def stem(name: str) -> str:
    """Node's `path.parse(name).name`: the name without its last extension."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def folder_regex(directory: str) -> re.Pattern[str]:
    return re.compile(rf"(.*[/\\]?{re.escape(directory)})[/\\]([^/\\]*)")


def last_index(parts: list[str], item: str) -> int:
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == item:
            return index
    return -1
