"""`manage.py merge_tree`: `git merge-tree --write-tree --name-only` on releasemgr's merge code.

Single mode prints the result tree id, then the conflicted paths one per line (in git's
order: sorted by path bytes), and exits 0 when the merge is clean, 1 when it is not, as git
does; a bad revision or repository exits 2. Batch mode reads `OURS THEIRS` lines from stdin
and answers each with one JSON line, flushed at once, in one long-lived process: the object
and similarity caches stay warm from one merge to the next, which is the point of it.

Like git, the result tree (and the blobs with conflict markers, labelled with the revisions
as given) is written to the repository's object store; no ref moves. The database is not
needed: this runs against any git repository on disk.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from dulwich.errors import NotGitRepository

from branching.git import storage
from branching.git.errors import BROKEN_OBJECT_ERRORS, broken_repository
from branching.git.merge import Merger, MergeResult, UnrelatedHistoriesError
from branching.git.revisions import BadRevision, resolve_commit

ERROR_EXIT = 2  # git itself exits 128; anything but 0 and 1 tells "no answer" from "conflicted"


class Command(BaseCommand):
    help = (
        "Merge two commits like `git merge-tree --write-tree --name-only OURS THEIRS`: print the "
        "result tree id and the conflicted paths; exit 0 if clean, 1 if conflicted. With "
        "--batch, read `OURS THEIRS` lines from stdin and write one JSON object per line."
    )
    requires_system_checks: list[str] = []  # no database, no models: any git repository will do
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repo", default=".", help="The git repository (bare or not); default: here."
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Read `OURS THEIRS` lines from stdin, answer each with a JSON line.",
        )
        parser.add_argument(
            "--allow-unrelated-histories",
            action="store_true",
            help="Merge commits that share no ancestor (against the empty tree).",
        )
        parser.add_argument("ours", nargs="?", help="Any revision: main, refs/…, main~3, abc123")
        parser.add_argument("theirs", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            repo = storage.open_repo(options["repo"])
        except (NotGitRepository, FileNotFoundError, NotADirectoryError):
            raise CommandError(
                f"{options['repo']} is not a git repository.", returncode=ERROR_EXIT
            ) from None
        allow_unrelated: bool = options["allow_unrelated_histories"]
        with repo:
            merger = Merger(repo.object_store)
            if options["batch"]:
                if options["ours"] or options["theirs"]:
                    raise CommandError(
                        "--batch reads its pairs from stdin; give no revisions with it.",
                        returncode=ERROR_EXIT,
                    )
                self._batch(repo, merger, options.get("stdin") or sys.stdin, allow_unrelated)
                return
            if not (options["ours"] and options["theirs"]):
                raise CommandError(
                    "Give two revisions (OURS THEIRS), or --batch.", returncode=ERROR_EXIT
                )
            try:
                result = _merge(repo, merger, options["ours"], options["theirs"], allow_unrelated)
            except (BadRevision, UnrelatedHistoriesError) as exc:
                raise CommandError(str(exc), returncode=ERROR_EXIT) from None
            except BROKEN_OBJECT_ERRORS as exc:
                message = str(broken_repository(exc))
                raise CommandError(message, returncode=ERROR_EXIT) from None
        self.stdout.write(result.tree.decode())
        for path in result.conflicts:
            self.stdout.write(path)
        self.stdout.flush()
        if not result.clean:
            sys.exit(1)

    def _batch(self, repo: storage.Repo, merger: Merger, stdin: IO[str], allow: bool) -> None:
        while line := stdin.readline():
            words = line.split()
            if not words:
                continue
            answer: dict[str, Any]
            if len(words) != 2:
                answer = {
                    "ours": words[0],
                    "theirs": " ".join(words[1:]),
                    "error": f"Expected two revisions on the line, found {len(words)}.",
                }
            else:
                answer = {"ours": words[0], "theirs": words[1]}
                try:
                    result = _merge(repo, merger, words[0], words[1], allow)
                except (BadRevision, UnrelatedHistoriesError) as exc:
                    answer["error"] = str(exc)
                except BROKEN_OBJECT_ERRORS as exc:
                    # A partial or corrupt repository: say so for this pair, and go on.
                    answer["error"] = str(broken_repository(exc))
                else:
                    answer.update(
                        tree=result.tree.decode(),
                        conflicts=list(result.conflicts),
                        clean=result.clean,
                    )
            self.stdout.write(json.dumps(answer))
            self.stdout.flush()


def _merge(
    repo: storage.Repo, merger: Merger, ours: str, theirs: str, allow_unrelated: bool
) -> MergeResult:
    # git labels the conflict markers with the revisions as typed; so do we, or the blobs (and
    # so the tree ids) would differ from git's.
    return merger.merge_commits(
        resolve_commit(repo, ours),
        resolve_commit(repo, theirs),
        ours_label=ours,
        theirs_label=theirs,
        allow_unrelated_histories=allow_unrelated,
    )
