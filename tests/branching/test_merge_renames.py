"""``merge_commits`` follows renames as git's merge-ort does: exact and similar files,
rename/rename and rename/delete, and whole directories moved on one side.

git is the oracle, as in test_merge.py: the same clean flag, conflicted paths and tree id.
"""

from __future__ import annotations

from .conftest import GitRepo
from .merging import CLS, LWC, apex, fork, lines

# ----------------------------------------------------------------- renames


def test_it_follows_exact_renames(repo: GitRepo) -> None:
    body = apex("Foo", 6)
    fork(
        repo,
        {f"{CLS}/Foo.cls": body},
        lambda r: r.move(f"{CLS}/Foo.cls", f"{CLS}/core/Foo.cls"),
        lambda r: r.write(f"{CLS}/Foo.cls", body.replace("method5", "method5Renamed")),
    )
    answer, _ = repo.assert_agrees()
    assert answer.clean
    assert "method5Renamed" in repo.blob(answer.tree, f"{CLS}/core/Foo.cls").decode()


def test_it_follows_similarity_renames(repo: GitRepo) -> None:
    body = apex("Bar", 8)
    fork(
        repo,
        {f"{CLS}/Bar.cls": body},
        lambda r: (
            r.remove(f"{CLS}/Bar.cls"),
            r.write(
                f"{CLS}/BarService.cls",
                body.replace("method0", "first").replace("class Bar", "class BarService"),
            ),
        ),
        lambda r: r.write(f"{CLS}/Bar.cls", body.replace("return value + 7", "return value * 7")),
    )
    answer, _ = repo.assert_agrees()
    assert answer.clean
    merged = repo.blob(answer.tree, f"{CLS}/BarService.cls").decode()
    assert "first" in merged and "value * 7" in merged


def test_it_does_not_pair_files_below_the_similarity_threshold(repo: GitRepo) -> None:
    fork(
        repo,
        {f"{CLS}/Old.cls": apex("Old", 3)},
        lambda r: (r.remove(f"{CLS}/Old.cls"), r.write(f"{CLS}/New.cls", apex("Other", 9, "x"))),
        lambda r: r.write(f"{CLS}/Old.cls", apex("Old", 3, "edited")),
    )
    _, result = repo.assert_agrees()
    assert f"{CLS}/Old.cls" in result.conflicts  # modify/delete, not a rename


def test_it_handles_rename_rename_one_to_two(repo: GitRepo) -> None:
    fork(
        repo,
        {"a.txt": lines(20)},
        lambda r: r.move("a.txt", "ours.txt"),
        lambda r: r.move("a.txt", "theirs.txt"),
    )
    _, result = repo.assert_agrees()
    assert set(result.conflicts) == {"a.txt", "ours.txt", "theirs.txt"}


def test_it_handles_rename_rename_two_to_one(repo: GitRepo) -> None:
    fork(
        repo,
        {"a.txt": lines(20, "a"), "b.txt": lines(20, "b")},
        lambda r: r.move("a.txt", "c.txt"),
        lambda r: r.move("b.txt", "c.txt"),
    )
    _, result = repo.assert_agrees()
    assert result.conflicts == ("c.txt",)


def test_it_handles_rename_delete(repo: GitRepo) -> None:
    fork(
        repo,
        {"a.txt": lines(20)},
        lambda r: r.move("a.txt", "b.txt"),
        lambda r: r.remove("a.txt"),
    )
    _, result = repo.assert_agrees()
    assert result.conflicts == ("b.txt",)


def test_it_handles_rename_add_collision(repo: GitRepo) -> None:
    fork(
        repo,
        {"a.txt": lines(20)},
        lambda r: r.move("a.txt", "b.txt"),
        lambda r: r.write("b.txt", lines(20, "other")),
    )
    repo.assert_agrees()


def test_it_walks_trees_in_git_order_when_sources_compete(repo: GitRepo) -> None:
    # Two identical deleted files compete for one exact-rename destination;
    # git's traverse_trees() meets file "a-b" before directory "a", so "a-b"
    # wins and "a/x" is left as a modify/delete conflict.
    common = lines(20, "common")
    fork(
        repo,
        {"a-b": common, "a/x": common, "keep": "k\n"},
        lambda r: (r.remove("a-b"), r.remove("a"), r.write("z", common)),
        lambda r: (r.write("a-b", common + "theirs\n"), r.write("a/x", "theirs\n" + common)),
    )
    _, result = repo.assert_agrees()
    assert result.conflicts == ("a/x",)


# ------------------------------------------------------ directory renames


def test_it_moves_files_added_into_a_renamed_directory(repo: GitRepo) -> None:
    bundle = {f"{LWC}/card/card.{ext}": f"// {ext}\n" * 5 for ext in ("js", "html", "css")}
    fork(
        repo,
        bundle,
        lambda r: [r.move(p, p.replace("/card/", "/accountCard/")) for p in bundle],
        lambda r: r.write(f"{LWC}/card/utils.js", "export const x = 1;\n"),
    )
    answer, result = repo.assert_agrees()
    # git's default (merge.directoryRenames=conflict): moved, but flagged
    assert result.conflicts == (f"{LWC}/accountCard/utils.js",)
    assert f"{LWC}/accountCard/utils.js" in repo.paths(answer.tree)


def test_it_reports_an_unclear_directory_rename_split(repo: GitRepo) -> None:
    files = {f"objects/Acct/fields/F{i}.xml": f"<f{i}/>\n" * 4 for i in range(4)}

    def ours(r: GitRepo) -> None:
        for i, p in enumerate(sorted(files)):
            r.move(p, p.replace("Acct/", "A1/" if i % 2 else "A2/"))

    fork(repo, files, ours, lambda r: r.write("objects/Acct/fields/New.xml", "<new/>\n"))
    answer, result = repo.assert_agrees()
    assert not answer.clean and not result.clean


def test_it_breaks_ties_between_equally_similar_sources_as_git_does(repo: GitRepo) -> None:
    """Several deleted files as like the added ones as each other, among many unlike them:
    which source each destination takes comes from git's four candidate slots, not from the
    order of the scores alone (and destinations with no good candidate keep none)."""
    shared = lines(12, "shared")
    base = {f"{CLS}/Old{n}.cls": shared + f"only old {n}\n" * 2 for n in range(6)}
    base.update({f"{CLS}/Unlike{n}.cls": lines(14, f"unlike{n}") for n in range(5)})

    def ours(r: GitRepo) -> None:
        for n in range(6):
            r.remove(f"{CLS}/Old{n}.cls")
        for n in range(5):
            r.remove(f"{CLS}/Unlike{n}.cls")
        for n in range(3):
            r.write(f"{CLS}/New{n}.cls", shared + f"only new {n}\n" * 2)
        for n in range(40):
            r.write(f"{CLS}/Added{n:02d}.cls", lines(14, f"added{n}"))

    def theirs(r: GitRepo) -> None:
        for n in range(6):
            r.write(f"{CLS}/Old{n}.cls", shared + f"only old {n}\n" * 2 + "theirs\n")
        for n in range(5):
            r.write(f"{CLS}/Unlike{n}.cls", lines(14, f"unlike{n}") + "theirs\n")

    fork(repo, base, ours, theirs)
    answer, result = repo.assert_agrees()
    assert any(path.startswith(f"{CLS}/New") for path in result.conflicts) or answer.clean
    repo.assert_agrees("theirs", "ours")


def _git_span_hash(chunk: bytes) -> int:
    """diffcore-delta.c's hash_chars() accumulators, as git writes them."""
    accum1 = accum2 = 0
    for c in chunk:
        old_1 = accum1
        accum1 = ((accum1 << 7) ^ (accum2 >> 25)) & 0xFFFFFFFF
        accum2 = ((accum2 << 7) ^ (old_1 >> 25)) & 0xFFFFFFFF
        accum1 = (accum1 + c) & 0xFFFFFFFF
    return ((accum1 + accum2 * 0x61) & 0xFFFFFFFF) % 107927


def test_its_span_hash_is_gits() -> None:
    import random

    from branching.git.renames import _span_hash

    rng = random.Random(5)
    chunks = [rng.randbytes(rng.randint(0, 64)) for _ in range(5000)]
    chunks += [b"\xff" * n for n in range(65)] + [b"    return value + 1;\n"]
    assert [_span_hash(c) for c in chunks] == [_git_span_hash(c) for c in chunks]
