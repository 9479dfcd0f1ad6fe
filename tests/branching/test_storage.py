"""The git layer against real bare repositories, with the git binary as the oracle."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from branching.git import locks, storage, writer
from branching.git.storage import (
    BlobRef,
    BranchExists,
    BranchNotFound,
    RefLocked,
    RefMoved,
    Repo,
)
from branching.refnames import branch_name_problem

AUTHOR = "Alice Martin <alice@acme.example>"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def run_git(repo: Repo | Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    path = repo.path if isinstance(repo, Repo) else str(repo)
    return subprocess.run(
        ["git", "-C", path, *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": path, "PATH": "/usr/bin:/bin"},
    )


def git(repo: Repo | Path, *args: str, stdin: str | None = None) -> str:
    """The output of a git command that must succeed (git is the oracle in these tests)."""
    result = run_git(repo, *args, stdin=stdin)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def git_succeeds(repo: Repo | Path, *args: str) -> bool:
    return run_git(repo, *args).returncode == 0


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    with storage.init_bare(tmp_path / "demo.git") as opened:
        yield opened


def commit(
    repo: Repo, parents: list[bytes], changes: dict, minutes: int, message: str = ""
) -> bytes:
    """A commit of the first parent's tree plus `changes`, dated START + minutes."""
    base = repo[parents[0]].tree if parents else None
    tree = storage.update_tree(repo, base, changes)
    return storage.commit_files(
        repo,
        parents=parents,
        tree=tree,
        message=message or f"commit at +{minutes}min",
        author=AUTHOR,
        when=START + timedelta(minutes=minutes),
    )


# --------------------------------------------------------------------------- repositories


def test_it_creates_a_bare_repository_once_and_reopens_it(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "acme.git"
    with storage.init_bare(path) as first:
        head = storage.commit_files(
            first, parents=[], files={"README.md": b"hi\n"}, message="init", author=AUTHOR
        )
        storage.create_branch(first, "main", head)
    with storage.init_bare(path) as again:
        assert storage.branch_head(again, "main") == head
    assert git(path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert [p.name for p in path.parent.iterdir()] == ["acme.git"]  # no temporary left over
    with storage.open_repo(path) as opened:
        assert storage.list_branches(opened) == ["main"]


def test_it_refuses_to_create_a_repository_in_a_folder_holding_something_else(
    tmp_path: Path,
) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("not a repository")
    with pytest.raises(ValueError, match="not a git repository"):
        storage.init_bare(tmp_path / "busy")


# --------------------------------------------------------------------------- trees and commits


def test_it_writes_nested_trees_and_commits_that_git_reads_back(repo: Repo) -> None:
    when = datetime(2026, 3, 2, 14, 30, tzinfo=timezone(timedelta(hours=1)))
    head = storage.commit_files(
        repo,
        parents=[],
        files={
            "sfdx-project.json": b"{}\n",
            "force-app/main/default/classes/A.cls": b"public class A {}\n",
            "scripts/deploy.sh": (b"#!/bin/sh\necho deploy\n", storage.EXECUTABLE),
        },
        message="Initial project",
        author=AUTHOR,
        when=when,
    )
    assert isinstance(head, bytes) and len(head) == 40
    listing = git(repo, "ls-tree", "-r", head.decode()).splitlines()
    modes = {line.split("\t")[1]: line.split()[0] for line in listing}
    assert modes == {
        "force-app/main/default/classes/A.cls": "100644",
        "scripts/deploy.sh": "100755",
        "sfdx-project.json": "100644",
    }
    assert git(repo, "show", f"{head.decode()}:scripts/deploy.sh") == "#!/bin/sh\necho deploy\n"
    log = git(repo, "log", "--format=%an <%ae>|%cn <%ce>|%aI|%s", head.decode()).strip()
    assert log == f"{AUTHOR}|{storage.DEFAULT_COMMITTER}|2026-03-02T14:30:00+01:00|Initial project"
    git(repo, "fsck", "--strict", "--no-dangling")


def test_it_accepts_ids_as_str_and_returns_hex_bytes(repo: Repo) -> None:
    first = commit(repo, [], {"a.txt": b"1"}, 0)
    second = storage.commit_changes(
        repo,
        parent=first.decode(),
        changes={"a.txt": b"2"},
        message="two",
        author=AUTHOR,
    )
    assert storage.hex_id(first) == first.decode()
    assert storage.read_blob(repo, second.decode(), "a.txt") == b"2"
    with pytest.raises(ValueError, match="hexadecimal"):
        storage.read_blob(repo, "main", "a.txt")


def test_it_changes_a_few_files_without_rewriting_untouched_folders(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        f"force-app/main/default/{kind}/{name}{n}.{ext}": f"// {kind} {n}\n".encode()
        for kind, name, ext in (("classes", "Cls", "cls"), ("triggers", "Trg", "trigger"))
        for n in range(10_000)
    }
    files["README.md"] = b"readme\n"
    base = storage.commit_files(repo, parents=[], files=files, message="20k", author=AUTHOR)
    written: list[object] = []
    real_store = writer._store

    def counting_store(repo: Repo, objects: list) -> None:
        objects = list(objects)
        written.extend(objects)
        real_store(repo, objects)

    monkeypatch.setattr(writer, "_store", counting_store)
    head = storage.commit_changes(
        repo,
        parent=base,
        changes={
            "force-app/main/default/classes/Cls7.cls": b"// changed\n",
            "force-app/main/default/classes/New.cls": b"// new\n",
            "README.md": None,
        },
        message="three changes",
        author=AUTHOR,
    )
    # 2 blobs, the classes folder, default, main, force-app, the root, and the commit.
    assert len(written) == 8
    diff = git(repo, "diff-tree", "-r", "--name-status", base.decode(), head.decode())
    assert sorted(diff.splitlines()) == [
        "A\tforce-app/main/default/classes/New.cls",
        "D\tREADME.md",
        "M\tforce-app/main/default/classes/Cls7.cls",
    ]
    triggers = "force-app/main/default/triggers"
    assert git(repo, "rev-parse", f"{base.decode()}:{triggers}") == git(
        repo, "rev-parse", f"{head.decode()}:{triggers}"
    )
    git(repo, "fsck", "--strict", "--no-dangling")


def test_it_drops_emptied_folders_and_can_replace_a_file_by_a_folder(repo: Repo) -> None:
    base = commit(repo, [], {"docs/a/only.md": b"x", "notes": b"a file", "keep.txt": b"k"}, 0)
    head = commit(
        repo, [base], {"docs/a/only.md": None, "notes": None, "notes/today.md": b"folder now"}, 1
    )
    assert storage.list_paths(repo, head) == ["keep.txt", "notes/today.md"]
    deleted_folder = commit(repo, [head], {"notes": None}, 2)
    assert storage.list_paths(repo, deleted_folder) == ["keep.txt"]
    everything_gone = commit(repo, [deleted_folder], {"keep.txt": None}, 3)
    assert storage.list_paths(repo, everything_gone) == []
    assert git(repo, "rev-parse", f"{everything_gone.decode()}^{{tree}}").strip() == (
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree
    )
    git(repo, "fsck", "--strict", "--no-dangling")


def test_it_places_existing_blobs_by_reference(repo: Repo) -> None:
    base = commit(repo, [], {"src/a.sh": (b"#!/bin/sh\n", storage.EXECUTABLE)}, 0)
    blob_id = git(repo, "rev-parse", f"{base.decode()}:src/a.sh").strip().encode()
    head = commit(repo, [base], {"copy/b.sh": BlobRef(blob_id, storage.EXECUTABLE)}, 1)
    assert storage.read_blob(repo, head, "copy/b.sh") == b"#!/bin/sh\n"
    assert git(repo, "ls-tree", head.decode(), "copy/b.sh").split()[0] == "100755"
    with pytest.raises(ValueError, match="not in the repository"):
        storage.update_tree(repo, base, {"x": BlobRef(b"1" * 40)})


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"": b"x"}, "empty"),
        ({"/abs.txt": b"x"}, "Invalid path"),
        ({"a//b.txt": b"x"}, "Invalid path"),
        ({"../escape.txt": b"x"}, "Invalid path"),
        ({".git/config": b"x"}, "Invalid path"),
        ({"missing.txt": None}, "not in the tree"),
        ({"dir": b"x"}, "is a folder"),
        ({"file.txt/inner": b"x"}, "is a file"),
        ({"new": b"x", "new/inner": b"y"}, "also given as a file|both as a file"),
        ({"file.txt": (b"x", 0o100600)}, "unsupported file mode"),
    ],
)
def test_it_refuses_bad_paths_and_contradictory_changes(
    repo: Repo, changes: dict, message: str
) -> None:
    base = commit(repo, [], {"dir/inside.txt": b"1", "file.txt": b"2"}, 0)
    with pytest.raises(ValueError, match=message):
        storage.update_tree(repo, storage.hex_id(base), changes)


def test_it_refuses_a_malformed_identity_or_naive_date(repo: Repo) -> None:
    with pytest.raises(ValueError, match="Name <email>"):
        storage.commit_files(repo, parents=[], files={}, message="m", author="alice")
    with pytest.raises(ValueError, match="timezone-aware"):
        storage.commit_files(
            repo, parents=[], files={}, message="m", author=AUTHOR, when=datetime(2026, 1, 1)
        )
    with pytest.raises(TypeError):
        storage.commit_files(repo, parents=[], message="m", author=AUTHOR)


# --------------------------------------------------------------------------- reading


def test_it_reads_files_and_lists_paths_in_git_order(repo: Repo) -> None:
    files = {
        "a.b": b"dot",
        "a/c": b"in folder",
        "a-b": b"dash",
        "force-app/main/default/classes/A.cls": b"A",
        "force-app/main/default/classes/A.cls-meta.xml": b"<meta/>",
        "force-app/main/default/lwc/card/card.js": b"js",
        "README.md": b"readme",
    }
    head = commit(repo, [], files, 0)
    assert (
        storage.list_paths(repo, head)
        == git(repo, "ls-tree", "-r", "--name-only", head.decode()).splitlines()
    )
    tree_id = repo[head].tree
    assert storage.list_paths(repo, tree_id, "force-app/main/default/classes") == [
        "force-app/main/default/classes/A.cls",
        "force-app/main/default/classes/A.cls-meta.xml",
    ]
    assert storage.list_paths(repo, head, "force-app/main/default/lwc/") == [
        "force-app/main/default/lwc/card/card.js"
    ]
    assert storage.list_paths(repo, head, "README.md") == ["README.md"]
    assert storage.list_paths(repo, head, "nowhere") == []
    assert storage.read_blob(repo, head, "a/c") == b"in folder"
    assert storage.read_blob(repo, head, "a") is None  # a folder
    assert storage.read_blob(repo, head, "a.b/c") is None  # below a file
    assert storage.read_blob(repo, head, "missing.txt") is None
    assert storage.path_mode(repo, head, "force-app/main") == 0o040000
    assert storage.path_mode(repo, head, "a.b") == storage.REGULAR
    assert storage.path_mode(repo, head, "nope") is None
    with pytest.raises(KeyError):
        storage.read_blob(repo, "0" * 40, "a/c")


# --------------------------------------------------------------------------- branches


def test_it_creates_lists_and_deletes_branches(repo: Repo) -> None:
    first = commit(repo, [], {"a": b"1"}, 0)
    second = commit(repo, [first], {"a": b"2"}, 1)
    storage.create_branch(repo, "main", second)
    storage.create_branch(repo, "release/2027-q1", first)
    storage.create_branch(repo, "dev/alice", first.decode())
    assert storage.list_branches(repo) == ["dev/alice", "main", "release/2027-q1"]
    assert git(repo, "for-each-ref", "--format=%(refname:short) %(objectname)").splitlines() == [
        f"dev/alice {first.decode()}",
        f"main {second.decode()}",
        f"release/2027-q1 {first.decode()}",
    ]
    assert storage.branch_heads(repo) == {
        "dev/alice": first,
        "main": second,
        "release/2027-q1": first,
    }
    with pytest.raises(BranchExists):
        storage.create_branch(repo, "main", first)
    assert storage.branch_head(repo, "main") == second
    with pytest.raises(ValueError, match="cannot be created"):
        storage.create_branch(repo, "dev", first)
    with pytest.raises(ValueError, match="cannot be created"):
        storage.create_branch(repo, "main/x", first)

    with pytest.raises(RefMoved) as moved:
        storage.delete_branch(repo, "dev/alice", expected=second)
    assert moved.value.actual == first
    assert storage.delete_branch(repo, "dev/alice", expected=first) == first
    assert storage.delete_branch(repo, "release/2027-q1") == first
    with pytest.raises(BranchNotFound):
        storage.delete_branch(repo, "release/2027-q1")
    assert storage.list_branches(repo) == ["main"]
    assert storage.branch_head(repo, "dev/alice") is None
    storage.create_branch(repo, "dev", first)  # the emptied dev/ folder is gone
    git(repo, "fsck", "--strict", "--no-dangling")


@pytest.mark.parametrize(
    "name", ["", "-x", "a..b", "has space", "refs/heads/main", "topic.lock", "dev/", "@", "a~1"]
)
def test_it_refuses_invalid_branch_names(repo: Repo, name: str) -> None:
    head = commit(repo, [], {"a": b"1"}, 0)
    problem = branch_name_problem(name)
    assert problem
    for attempt in (
        lambda: storage.create_branch(repo, name, head),
        lambda: storage.update_branch(repo, name, head, None),
        lambda: storage.delete_branch(repo, name),
        lambda: storage.branch_head(repo, name),
    ):
        with pytest.raises(ValueError) as refused:
            attempt()
        assert str(refused.value) == problem
    assert storage.list_branches(repo) == []


def test_it_moves_a_branch_only_from_the_head_the_caller_saw(repo: Repo) -> None:
    base = commit(repo, [], {"a": b"1"}, 0)
    ours = commit(repo, [base], {"a": b"ours"}, 1)
    theirs = commit(repo, [base], {"a": b"theirs"}, 2)
    storage.update_branch(repo, "main", base, None)
    assert storage.update_branch(repo, "main", theirs, base) == theirs

    with pytest.raises(RefMoved) as moved:
        storage.update_branch(repo, "main", ours, base)
    assert moved.value.expected == base
    assert moved.value.actual == theirs
    assert "moved" in str(moved.value)
    assert storage.branch_head(repo, "main") == theirs

    with pytest.raises(RefMoved):
        storage.update_branch(repo, "main", ours, None)  # "must not exist yet"
    with pytest.raises(RefMoved) as missing:
        storage.update_branch(repo, "gone", ours, base)
    assert missing.value.actual is None
    assert storage.branch_head(repo, "gone") is None
    with pytest.raises(ValueError, match="not a commit"):
        storage.update_branch(repo, "main", repo[theirs].tree, theirs)


def test_it_waits_for_another_writers_lock_then_updates(repo: Repo) -> None:
    base = commit(repo, [], {"a": b"1"}, 0)
    head = commit(repo, [base], {"a": b"2"}, 1)
    storage.create_branch(repo, "main", base)
    lock = Path(repo.path) / "refs" / "heads" / "main.lock"
    lock.write_text("held by another writer\n")
    releaser = threading.Timer(0.15, lock.unlink)
    releaser.start()
    started = time.monotonic()
    storage.update_branch(repo, "main", head, base)
    releaser.join()
    assert time.monotonic() - started >= 0.1
    assert storage.branch_head(repo, "main") == head


def test_it_gives_up_loudly_on_a_lock_nobody_releases(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locks, "LOCK_ATTEMPTS", 3)
    base = commit(repo, [], {"a": b"1"}, 0)
    head = commit(repo, [base], {"a": b"2"}, 1)
    storage.create_branch(repo, "release/2027-q1", base)
    lock = Path(repo.path) / "refs" / "heads" / "release" / "2027-q1.lock"
    lock.write_text("stale\n")
    with pytest.raises(RefLocked) as locked:
        storage.update_branch(repo, "release/2027-q1", head, base)
    assert str(lock) in str(locked.value)
    assert storage.branch_head(repo, "release/2027-q1") == base


def test_it_loses_no_update_when_threads_race_on_one_branch(tmp_path: Path) -> None:
    path = tmp_path / "race.git"
    with storage.init_bare(path) as setup:
        root = commit(setup, [], {"README.md": b"race\n"}, 0)
        storage.create_branch(setup, "main", root)
    writers, updates = 8, 12
    refused = [0] * writers
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def writer(number: int) -> None:
        try:
            with storage.open_repo(path) as repo:  # each worker opens its own, like a process
                start.wait()
                for update in range(updates):
                    while True:
                        head = storage.branch_head(repo, "main")
                        assert head is not None
                        new = storage.commit_changes(
                            repo,
                            parent=head,
                            changes={f"writers/{number}/{update}.txt": b"x"},
                            message=f"writer {number} update {update}",
                            author=AUTHOR,
                        )
                        try:
                            storage.update_branch(repo, "main", new, head)
                            break
                        except RefMoved:
                            refused[number] += 1
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert int(git(path, "rev-list", "--count", "main")) == 1 + writers * updates
    with storage.open_repo(path) as repo:
        head = storage.branch_head(repo, "main")
        assert head is not None
        paths = storage.list_paths(repo, head, "writers")
    assert len(paths) == writers * updates
    assert sum(refused) > 0  # the race really happened
    git(path, "fsck", "--strict", "--no-dangling")


# --------------------------------------------------------------------------- history


def random_history(repo: Repo, rng: random.Random, size: int, skew: int = 0) -> list[bytes]:
    """A history with branches and merges; `skew` minutes of random clock error per commit."""
    commits: list[bytes] = []
    tips: list[bytes] = []
    for n in range(size):
        minutes = n * 10 + (rng.randint(-skew, skew) if skew else 0)
        if not tips:
            parents: list[bytes] = []
        elif len(tips) > 1 and rng.random() < 0.2:
            parents = rng.sample(tips, 2)
            tips = [tip for tip in tips if tip not in parents]
        elif rng.random() < 0.25:
            parents = [rng.choice(commits)]  # a new branch from anywhere
        else:
            parents = [tips.pop(rng.randrange(len(tips)))]
        new = commit(repo, parents, {f"f{n % 7}.txt": str(n).encode()}, minutes)
        commits.append(new)
        tips.append(new)
    return commits


def reachable(repo: Repo, start: bytes) -> set[bytes]:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(repo[node].parents)
    return seen


@pytest.mark.parametrize("skew", [0, 600])
def test_it_answers_ancestry_and_ahead_behind_like_git(repo: Repo, skew: int) -> None:
    """With skewed dates (up to ten hours either way) the answers stay exact. git's own
    `rev-list --count a...b` limits its walk by date and can miscount there, so the skewed
    history is checked against the full reachable sets instead."""
    rng = random.Random(20270101 + skew)
    commits = random_history(repo, rng, 120, skew=skew)
    git(repo, "commit-graph", "write", "--reachable")  # exact generation numbers for git too
    pairs = [(rng.choice(commits), rng.choice(commits)) for _ in range(150)]
    pairs += [(commits[0], commits[-1]), (commits[-1], commits[-1])]
    for a, b in pairs:
        oracle = git_succeeds(repo, "merge-base", "--is-ancestor", a.decode(), b.decode())
        assert storage.is_ancestor(repo, a, b) == oracle, (a, b)
        from_a, from_b = reachable(repo, a), reachable(repo, b)
        expected = (len(from_a - from_b), len(from_b - from_a))
        assert storage.ahead_behind(repo, a, b) == expected, (a, b)
        if not skew:
            counts = git(
                repo, "rev-list", "--left-right", "--count", f"{a.decode()}...{b.decode()}"
            )
            assert expected == tuple(int(x) for x in counts.split())
