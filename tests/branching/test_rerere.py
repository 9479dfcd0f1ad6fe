"""Conflict ids, preimages and replays against the git binary's own rerere (the test oracle):
the same rr-cache id, the same preimage bytes, and the same file after a replay."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from branching.git.rerere import normalise, replay

BASE = b"".join(b"line %d\n" % n for n in range(1, 21))


def _git(work: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed arguments, the git binary as the oracle
        ["git", *args], cwd=work, capture_output=True, check=False, text=True
    )
    return done.stdout + done.stderr


@pytest.fixture
def work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    for key, value in {
        "user.name": "Oracle",
        "user.email": "oracle@example.com",
        "rerere.enabled": "true",
        "commit.gpgsign": "false",
    }.items():
        _git(work, "config", key, value)
    return work


def _commit(work: Path, content: bytes, message: str) -> None:
    (work / "f.txt").write_bytes(content)
    _git(work, "add", "f.txt")
    _git(work, "commit", "-q", "-m", message)


def _branches(work: Path, ours: bytes, theirs: bytes) -> None:
    _commit(work, BASE, "base")
    _git(work, "checkout", "-q", "-b", "a")
    _commit(work, ours, "ours")
    _git(work, "checkout", "-q", "-b", "b", "main")
    _commit(work, theirs, "theirs")


def _rr_cache(work: Path) -> dict[str, Path]:
    return {p.name: p for p in (work / ".git" / "rr-cache").iterdir()}


OURS = BASE.replace(b"line 10\n", b"line 10 by ours\n")
THEIRS = BASE.replace(b"line 10\n", b"line 10 by theirs\nand more\n")
RESOLVED = BASE.replace(b"line 10\n", b"line 10 by both\n")


@pytest.mark.parametrize("style", ["merge", "diff3"])
def test_the_conflict_id_and_preimage_are_gits(work, style):
    _git(work, "config", "merge.conflictStyle", style)
    _branches(work, OURS, THEIRS)
    _git(work, "checkout", "-q", "a")
    _git(work, "merge", "b")
    marked = (work / "f.txt").read_bytes()
    assert b"<<<<<<< HEAD" in marked
    normalised = normalise(marked)
    assert normalised is not None and normalised.hunks == 1
    [(name, folder)] = _rr_cache(work).items()
    assert normalised.conflict_id == name
    assert normalised.preimage == (folder / "preimage").read_bytes()


def test_the_id_does_not_depend_on_which_side_is_ours(work):
    _branches(work, OURS, THEIRS)
    _git(work, "checkout", "-q", "a")
    _git(work, "merge", "b")
    first = normalise((work / "f.txt").read_bytes())
    _git(work, "merge", "--abort")
    _git(work, "checkout", "-q", "b")
    _git(work, "merge", "a")
    second = normalise((work / "f.txt").read_bytes())
    assert first is not None and second is not None
    assert first.conflict_id == second.conflict_id and first.preimage == second.preimage
    assert list(_rr_cache(work)) == [first.conflict_id]


def test_a_replay_gives_the_file_gits_rerere_gives(work):
    """Resolved once on a; merged again from a branch with other changes around the hunk,
    git replays the resolution, and so does `replay`, to the same bytes."""
    _branches(work, OURS, THEIRS)
    _git(work, "checkout", "-q", "a")
    _git(work, "merge", "b")
    preimage = normalise((work / "f.txt").read_bytes())
    assert preimage is not None
    _commit(work, RESOLVED, "resolved")  # rerere records the postimage
    [folder] = _rr_cache(work).values()
    assert (folder / "postimage").read_bytes() == RESOLVED

    # Later: c holds ours plus changes near and far from the hunk, and meets b again.
    _git(work, "checkout", "-q", "-b", "c", "a~1")
    elsewhere = OURS.replace(b"line 2\n", b"line 2 edited\n").replace(b"line 13\n", b"line 13!\n")
    _commit(work, elsewhere, "elsewhere")
    out = _git(work, "merge", "b")
    assert "using previous resolution" in out
    by_git = (work / "f.txt").read_bytes()
    assert b"<<<<<<<" not in by_git and b"line 2 edited" in by_git

    _git(work, "checkout", "-q", "-f", "c")
    _git(work, "config", "rerere.enabled", "false")
    _git(work, "merge", "b")
    this = normalise((work / "f.txt").read_bytes())
    assert this is not None and this.conflict_id == preimage.conflict_id
    assert replay(preimage.preimage, this.preimage, RESOLVED) == by_git


def test_a_different_conflict_on_the_same_file_has_another_id():
    marked = b"a\n<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\nb\n"
    other = b"a\n<<<<<<< ours\nx\n=======\nz\n>>>>>>> theirs\nb\n"
    first, second = normalise(marked), normalise(other)
    assert first is not None and second is not None
    assert first.conflict_id != second.conflict_id


def test_labels_do_not_matter_and_broken_markers_are_left_alone():
    one = normalise(b"<<<<<<< integration\nx\n=======\ny\n>>>>>>> feature/RM-3\n")
    two = normalise(b"<<<<<<< qa\ny\n=======\nx\n>>>>>>> feature/RM-3\n")
    assert one is not None and two is not None
    assert one == two
    assert one.preimage == b"<<<<<<<\nx\n=======\ny\n>>>>>>>\n"
    assert normalise(b"<<<<<<< a\nx\n>>>>>>> b\n") is None  # no separator
    assert normalise(b"<<<<<<< a\nx\n=======\ny\n") is None  # never ends
    assert normalise(b"no conflict here\n") is None


def test_a_replay_that_no_longer_fits_is_refused():
    hunk = b"<<<<<<<\nx\n=======\ny\n>>>>>>>\n"
    preimage = b"a\nb\nc\n" + hunk + b"d\ne\nf\n"
    postimage = b"a\nb\nc\nxy\nd\ne\nf\n"
    moved_on = b"A\nb\nc\n" + hunk + b"d\ne\nf\n"
    assert replay(preimage, moved_on, postimage) == b"A\nb\nc\nxy\nd\ne\nf\n"
    clash = b"a\nb\nc\n" + hunk + b"D\ne\nf\n"
    assert replay(preimage, clash, postimage.replace(b"d\n", b"d!\n")) is None
