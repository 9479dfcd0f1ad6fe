"""``merge_commits`` must give exactly ``git merge-tree --write-tree``'s answer.

Every test builds a real repository with git, merges with git as the oracle
and with our dulwich-only implementation, and requires the same clean flag,
the same conflicted paths and the same tree id (for conflicted merges too,
which pins the conflict markers byte for byte).  Plain pytest, no database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dulwich.objects import Blob, Tree
from dulwich.repo import MemoryRepo, Repo

from branching.git.merge import (
    UnrelatedHistoriesError,
    merge_base,
    merge_commits,
    merge_trees,
)
from branching.git.textmerge import merge_text

from .conftest import GitRepo, load_agreement_harness
from .merging import CLS, apex, fork, lines

# --------------------------------------------------------------- text merges


def test_it_merges_disjoint_edits_cleanly(repo: GitRepo) -> None:
    base = lines(30)
    fork(
        repo,
        {"a.txt": base},
        lambda r: r.write("a.txt", base.replace("line 2\n", "OURS 2\n")),
        lambda r: r.write("a.txt", base.replace("line 25\n", "THEIRS 25\n")),
    )
    answer, result = repo.assert_agrees()
    assert answer.clean
    merged = repo.blob(answer.tree, "a.txt").decode()
    assert "OURS 2" in merged and "THEIRS 25" in merged


def test_it_writes_git_conflict_hunks_byte_for_byte(repo: GitRepo) -> None:
    base = lines(40)
    ours = base.replace("line 10\n", "ours 10\n").replace("line 12\n", "ours 12\nextra\n")
    ours = ours.replace("line 30\n", "same change\n")
    theirs = base.replace("line 10\n", "theirs 10\n").replace("line 13\n", "theirs 13\n")
    theirs = theirs.replace("line 30\n", "same change\n").replace("line 35\n", "")
    fork(
        repo, {"f.cls": base}, lambda r: r.write("f.cls", ours), lambda r: r.write("f.cls", theirs)
    )
    answer, result = repo.assert_agrees()
    assert result.conflicts == ("f.cls",)
    text = repo.blob(result.tree.decode(), "f.cls").decode()
    assert "<<<<<<< ours\n" in text and ">>>>>>> theirs\n" in text and "=======\n" in text


def test_it_uses_the_given_labels_in_markers(repo: GitRepo) -> None:
    fork(
        repo,
        {"f.txt": "a\nb\nc\n"},
        lambda r: r.write("f.txt", "a\nB1\nc\n"),
        lambda r: r.write("f.txt", "a\nB2\nc\n"),
    )
    result = repo.ours("ours", "theirs")
    sha_a, sha_b = repo.rev("ours"), repo.rev("theirs")
    with Repo(str(repo.path)) as dulwich_repo:
        labelled = merge_commits(
            dulwich_repo,
            sha_a.encode(),
            sha_b.encode(),
            ours_label="feature/x",
            theirs_label="develop",
        )
    text = repo.blob(labelled.tree.decode(), "f.txt")
    assert text == b"a\n<<<<<<< feature/x\nB1\n=======\nB2\n>>>>>>> develop\nc\n"
    assert result.tree != labelled.tree


def test_it_handles_crlf_and_missing_final_newline(repo: GitRepo) -> None:
    base = "one\r\ntwo\r\nthree\r\nfour\r\nfive"
    fork(
        repo,
        {"w.txt": base, "n.txt": "x\ny\nz"},
        lambda r: (r.write("w.txt", base.replace("two", "TWO")), r.write("n.txt", "x\ny\nzz")),
        lambda r: (r.write("w.txt", base.replace("two", "deux")), r.write("n.txt", "x\nY\nz")),
    )
    repo.assert_agrees()


def test_it_refines_conflicts_like_xdiff_zealous(repo: GitRepo) -> None:
    # Both sides rewrite the same block but agree on most lines: git shows
    # only the differing lines, and coalesces conflicts <= 3 lines apart.
    base = lines(20)
    block_a = "".join(f"new {i}\n" for i in range(8)).replace("new 3", "ours 3")
    block_b = "".join(f"new {i}\n" for i in range(8)).replace("new 3", "theirs 3")
    block_b = block_b.replace("new 6", "theirs 6")
    fork(
        repo,
        {"f.txt": base},
        lambda r: r.write("f.txt", base.replace(lines(8), block_a)),
        lambda r: r.write("f.txt", base.replace(lines(8), block_b)),
    )
    repo.assert_agrees()


def test_it_falls_back_to_myers_for_very_repetitive_files(repo: GitRepo) -> None:
    base = "".join(
        "    <readable>true</readable>\n" if i % 3 else "</fieldPermissions>\n" for i in range(400)
    )
    ours = base.split("\n")
    theirs = list(ours)
    ours[100] = "    <editable>ours</editable>"
    theirs[101] = "    <editable>theirs</editable>"
    theirs[300] = "changed far away"
    fork(
        repo,
        {"Admin.permissionset-meta.xml": base},
        lambda r: r.write("Admin.permissionset-meta.xml", "\n".join(ours)),
        lambda r: r.write("Admin.permissionset-meta.xml", "\n".join(theirs)),
    )
    repo.assert_agrees()


# ------------------------------------------- modes, symlinks, binaries, types


def test_it_keeps_a_mode_change_alongside_an_edit(repo: GitRepo) -> None:
    fork(
        repo,
        {"scripts/deploy.sh": "#!/bin/sh\necho deploy\n" + lines(5)},
        lambda r: r.chmod("scripts/deploy.sh", True),
        lambda r: r.write("scripts/deploy.sh", "#!/bin/sh\necho deploy --prod\n" + lines(5)),
    )
    answer, _ = repo.assert_agrees()
    assert answer.clean
    assert repo.mode(answer.tree, "scripts/deploy.sh") == "100755"


def test_it_conflicts_on_different_mode_changes_with_a_rename(repo: GitRepo) -> None:
    fork(
        repo,
        {"run.sh": lines(10)},
        lambda r: (r.move("run.sh", "bin/run.sh"), r.chmod("bin/run.sh", True)),
        lambda r: r.write("run.sh", lines(11)),
    )
    repo.assert_agrees()


def test_it_merges_symlinks(repo: GitRepo) -> None:
    for rel, dest in (("config/current", "../a"), ("config/stable", "../s")):
        repo.symlink(rel, dest)
    repo.write("README", "x\n")
    repo.commit("base")
    repo.branch("ours", "main")
    repo.symlink("config/current", "../ours")
    repo.symlink("config/stable", "../s2")
    repo.commit("ours")
    repo.branch("theirs", "main")
    repo.symlink("config/current", "../theirs")
    repo.commit("theirs")
    answer, result = repo.assert_agrees()
    assert result.conflicts == ("config/current",)
    assert repo.blob(answer.tree, "config/current") == b"../ours"


def test_it_never_writes_markers_into_binaries(repo: GitRepo) -> None:
    blob = b"PK\x03\x04\x00\x00" + bytes(range(256))
    fork(
        repo,
        {"static/logo.resource": blob},  # type: ignore[dict-item]
        lambda r: r.write("static/logo.resource", blob + b"\x00ours"),
        lambda r: r.write("static/logo.resource", blob + b"\x00theirs"),
    )
    answer, result = repo.assert_agrees()
    assert result.conflicts == ("static/logo.resource",)
    assert repo.blob(answer.tree, "static/logo.resource") == blob + b"\x00ours"


def test_it_keeps_the_modified_side_of_delete_modify(repo: GitRepo) -> None:
    fork(
        repo,
        {"a.txt": lines(10), "b.txt": lines(10)},
        lambda r: (r.remove("a.txt"), r.write("b.txt", lines(11))),
        lambda r: (r.write("a.txt", lines(12)), r.remove("b.txt")),
    )
    answer, result = repo.assert_agrees()
    assert set(result.conflicts) == {"a.txt", "b.txt"}
    assert repo.blob(answer.tree, "a.txt") == lines(12).encode()
    assert repo.blob(answer.tree, "b.txt") == lines(11).encode()


def test_it_moves_a_file_aside_for_a_directory(repo: GitRepo) -> None:
    fork(
        repo,
        {"README": "x\n"},
        lambda r: r.write("objects/Extra", "a file\n"),
        lambda r: r.write("objects/Extra/fields/X.xml", "<x/>\n"),
    )
    answer, result = repo.assert_agrees()
    assert result.conflicts == ("objects/Extra~ours",)
    assert "objects/Extra/fields/X.xml" in repo.paths(answer.tree)


def test_it_renames_both_sides_of_a_type_conflict(repo: GitRepo) -> None:
    repo.write("README", "x\n")
    repo.commit("base")
    repo.branch("ours", "main")
    repo.write("link", "regular file\n")
    repo.commit("ours")
    repo.branch("theirs", "main")
    repo.symlink("link", "target")
    repo.commit("theirs")
    _, result = repo.assert_agrees()
    assert set(result.conflicts) == {"link", "link~ours"}


def test_it_merges_identical_add_add_cleanly(repo: GitRepo) -> None:
    fork(
        repo,
        {"README": "x\n"},
        lambda r: r.write(f"{CLS}/Same.cls", apex("Same")),
        lambda r: r.write(f"{CLS}/Same.cls", apex("Same")),
    )
    answer, _ = repo.assert_agrees()
    assert answer.clean


def test_it_two_way_merges_different_add_add(repo: GitRepo) -> None:
    fork(
        repo,
        {"README": "x\n"},
        lambda r: r.write(f"{CLS}/Twin.cls", apex("Twin", 4, "ours")),
        lambda r: r.write(f"{CLS}/Twin.cls", apex("Twin", 4, "theirs")),
    )
    answer, result = repo.assert_agrees()
    assert result.conflicts == (f"{CLS}/Twin.cls",)
    text = repo.blob(answer.tree, f"{CLS}/Twin.cls").decode()
    assert text.startswith("public with sharing class Twin {\n") and "<<<<<<< ours" in text


# ------------------------------------------------------------- history


def criss_cross(repo: GitRepo) -> None:
    """Two merge bases whose virtual merge itself conflicts."""
    repo.write("f.txt", lines(10))
    repo.write("g.txt", lines(10, "g"))
    repo.commit("base")
    repo.branch("a", "main")
    repo.write("f.txt", lines(10).replace("line 5", "A"))
    a1 = repo.commit("a1")
    repo.branch("b", "main")
    repo.write("f.txt", lines(10).replace("line 5", "B"))
    b1 = repo.commit("b1")
    repo.checkout("a")
    repo.merge(b1, resolve={"f.txt": lines(10).replace("line 5", "A+B")})
    repo.write("g.txt", lines(10, "g").replace("g 1", "ours"))
    repo.commit("ours work")
    repo.git("branch", "ours")
    repo.checkout("b")
    repo.merge(a1, resolve={"f.txt": lines(10).replace("line 5", "B+A")})
    repo.write("g.txt", lines(10, "g").replace("g 8", "theirs"))
    repo.commit("theirs work")
    repo.git("branch", "theirs")


def test_it_merges_criss_cross_history_through_a_virtual_base(repo: GitRepo) -> None:
    criss_cross(repo)
    _, result = repo.assert_agrees()
    assert len(result.merge_bases) == 2
    assert result.conflicts == ("f.txt",)


def test_it_finds_all_best_common_ancestors(repo: GitRepo) -> None:
    criss_cross(repo)
    expected = repo.git("merge-base", "--all", "ours", "theirs").split()
    with Repo(str(repo.path)) as r:
        bases = merge_base(r, repo.rev("ours").encode(), repo.rev("theirs").encode())
    assert [b.decode() for b in bases] == expected


def test_it_refuses_unrelated_histories_unless_asked(repo: GitRepo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit("one")
    repo.git("checkout", "-q", "--orphan", "other")
    repo.git("rm", "-rqf", ".")
    repo.write("b.txt", "b\n")
    repo.commit("two")
    with Repo(str(repo.path)) as r:
        with pytest.raises(UnrelatedHistoriesError):
            merge_commits(r, repo.rev("main").encode(), repo.rev("other").encode())
        result = merge_commits(
            r, repo.rev("main").encode(), repo.rev("other").encode(), allow_unrelated_histories=True
        )
    assert result.clean
    assert repo.paths(result.tree.decode()) == {"a.txt", "b.txt"}


# ------------------------------------------------------------- API shape


def test_it_merges_trees_in_memory_without_git() -> None:
    repo = MemoryRepo()
    store = repo.object_store

    def tree(files: dict[bytes, bytes]) -> bytes:
        t = Tree()
        for name, data in files.items():
            blob = Blob.from_string(data)
            store.add_object(blob)
            t.add(name, 0o100644, blob.id)
        store.add_object(t)
        return t.id

    base = tree({b"a": b"1\n2\n3\n", b"b": b"x\n"})
    ours = tree({b"a": b"1\nours\n3\n", b"b": b"x\n"})
    theirs = tree({b"a": b"1\ntheirs\n3\n", b"b": b"y\n"})
    result = merge_trees(store, base, ours, theirs, ours_label="L", theirs_label="R")
    assert result.conflicts == ("a",)
    entry = result.entries[0]
    assert entry.base is not None and entry.ours is not None and entry.theirs is not None
    merged = store[Tree.from_string(store[result.tree].as_raw_string())[b"a"][1]]
    assert merged.data == b"1\n<<<<<<< L\nours\n=======\ntheirs\n>>>>>>> R\n3\n"
    assert result.kinds() == {"a": ["contents"]}


def test_it_merges_text_exactly_like_xdiff() -> None:
    res = merge_text(b"a\nb\nc\nd\ne\n", b"a\nB\nc\nd\ne\n", b"a\nb\nc\nD\ne\n")
    assert res.content == b"a\nB\nc\nD\ne\n" and res.conflicts == 0
    # adjacent changes touch: git reports them as one conflict
    res = merge_text(b"a\nb\nc\n", b"a\nB\nc\n", b"a\nb\nC\n")
    assert res.conflicts == 1
    res = merge_text(b"a\n", b"x\n", b"y\n", ours_label="o", theirs_label="t")
    assert res.content == b"<<<<<<< o\nx\n=======\ny\n>>>>>>> t\n" and res.conflicts == 1


# ----------------------------------------------------------- big folders


def _big_folder_fork(repo: GitRepo) -> None:
    """A 400-file folder: ``ours`` rewrites most of it, ``theirs`` touches a handful."""
    base = {f"{CLS}/Service{n:03d}.cls": apex(f"Service{n:03d}", 2) for n in range(400)}
    base[f"{CLS}/sub/Inner.cls"] = apex("Inner", 2)

    def ours(r: GitRepo) -> None:
        for n in range(0, 400, 2):  # 200 edits
            r.write(f"{CLS}/Service{n:03d}.cls", apex(f"Service{n:03d}", 2, "ours"))
        for n in (1, 3, 5):
            r.remove(f"{CLS}/Service{n:03d}.cls")
        r.write(f"{CLS}/Added.cls", apex("Added", 3))
        r.write(f"{CLS}/sub/Inner.cls", apex("Inner", 2, "ours"))  # a changed subfolder
        r.remove(f"{CLS}/Service007.cls")
        r.write(f"{CLS}/Service007.cls/Nested.cls", apex("Nested", 1))  # file becomes folder

    def theirs(r: GitRepo) -> None:
        r.write(f"{CLS}/Service010.cls", apex("Service010", 2, "theirs"))  # conflicts
        r.write(f"{CLS}/Service011.cls", apex("Service011", 2, "theirs"))  # only theirs
        r.write(f"{CLS}/Service012.cls", apex("Service012", 2, "ours"))  # the same edit
        r.remove(f"{CLS}/Service014.cls")  # modify/delete
        r.move(f"{CLS}/Service099.cls", f"{CLS}/Renamed099.cls")  # a rename in the big folder
        r.write(f"{CLS}/Service003.cls", apex("Service003", 2, "theirs"))  # delete/modify
        r.write(f"{CLS}/Added.cls", apex("Added", 3))  # the same addition

    fork(repo, base, ours, theirs)


def test_it_merges_a_folder_one_side_rewrote_like_git_either_way(repo: GitRepo) -> None:
    """The result is spliced from the side that changed the folder more; whichever that is,
    conflicts, renames, deletions and the folder that replaced a file come out as git's."""
    _big_folder_fork(repo)
    answer, result = repo.assert_agrees("ours", "theirs")
    assert not answer.clean and f"{CLS}/Service010.cls" in result.conflicts
    assert f"{CLS}/Renamed099.cls" in repo.paths(answer.tree)
    assert repo.blob(answer.tree, f"{CLS}/Service011.cls").decode().count("theirs") == 2
    assert repo.blob(answer.tree, f"{CLS}/Service020.cls").decode().count("ours") == 2
    repo.assert_agrees("theirs", "ours")


# ----------------------------------------------------------- generated


def test_it_agrees_with_git_on_generated_salesforce_histories(tmp_path: Path) -> None:
    harness = load_agreement_harness()
    report = harness.run(cases=400, seed=20240601, workdir=tmp_path / "cases")
    summary = report.render()
    assert report.total == 400
    assert report.percent >= 98.0, summary
    assert report.outcomes["clean-where-git-conflicts"] == 0, summary
    assert report.outcomes["clean-tree-differs"] == 0, summary
    assert report.outcomes["error"] == 0, summary
    # conflicted merges: conflict markers identical wherever the paths agree
    assert report.conflicted_tree_equal >= 0.98 * report.conflicted_total, summary


def test_it_agrees_with_git_on_chaotic_histories(tmp_path: Path) -> None:
    """Colliding paths, file<->directory swaps, overlapping directory renames."""
    harness = load_agreement_harness()
    report = harness.run(cases=300, seed=7, workdir=tmp_path / "chaos", chaos=True)
    summary = report.render()
    assert report.percent >= 98.0, summary
    assert report.outcomes["clean-where-git-conflicts"] == 0, summary
    assert report.outcomes["clean-tree-differs"] == 0, summary
    assert report.outcomes["error"] == 0, summary


def test_it_agrees_with_git_on_histories_of_real_project_files(tmp_path: Path) -> None:
    """Cases cut from real Salesforce DX projects' files (tests/fixtures/sfdx, public repos)."""
    harness = load_agreement_harness()
    assert len(harness.real_files()) >= 20
    report = harness.run(cases=200, seed=11, workdir=tmp_path / "real", real=True)
    summary = report.render()
    assert report.percent >= 98.0, summary
    assert report.outcomes["clean-where-git-conflicts"] == 0, summary
    assert report.outcomes["clean-tree-differs"] == 0, summary
    assert report.outcomes["error"] == 0, summary


# ----------------------------------------------------------- traversal order


def _streams_order(sides: tuple[dict[bytes, tuple[int, bytes]], ...]) -> list[bytes]:
    """traverse_trees()'s order, entry by entry: each side in tree order (a folder as "name/"),
    the smallest plain name among the sides' next entries first."""
    streams = [
        [n for _, n in sorted((n + b"/" if m == 0o040000 else n, n) for n, (m, _) in s.items())]
        for s in sides
    ]
    order: list[bytes] = []
    taken: set[bytes] = set()
    while True:
        heads = [next((n for n in stream if n not in taken), None) for stream in streams]
        live = [h for h in heads if h is not None]
        if not live:
            return order
        first = min(live)
        order.append(first)
        taken.add(first)


def test_it_visits_a_folder_and_the_files_beside_it_in_gits_order() -> None:
    """A static resource folder `Foo` sorts as "Foo/", after `Foo.resource-meta.xml`; the names
    are visited in git's order whether or not some name extends a folder's with such a byte."""
    import random

    from branching.git.ort import _walk_order

    rng = random.Random(13)
    stems = [b"Foo", b"Foo.resource-meta.xml", b"Foo-bar", b"Foo0", b"FooBar", b"Fo", b"Zed", b"a"]
    for _ in range(2000):
        sides = tuple(
            {
                name: (rng.choice([0o100644, 0o040000]), b"0" * 40)
                for name in rng.sample(stems, rng.randint(0, len(stems)))
            }
            for _ in range(3)
        )
        names = set().union(*sides)
        assert _walk_order(names, sides) == _streams_order(sides), sides


def test_it_merges_static_resources_beside_their_folders_like_git(repo: GitRepo) -> None:
    res = "force-app/main/default/staticresources"
    fork(
        repo,
        {
            f"{res}/Logo/logo.svg": "<svg/>\n",
            f"{res}/Logo.resource-meta.xml": "<meta>1</meta>\n",
            f"{res}/Logo-dark.resource-meta.xml": "<meta>d</meta>\n",
            f"{res}/Zed.resource-meta.xml": "<meta>z</meta>\n",
        },
        lambda r: (
            r.write(f"{res}/Logo/logo.svg", "<svg>ours</svg>\n"),
            r.write(f"{res}/Logo.resource-meta.xml", "<meta>ours</meta>\n"),
            r.write(f"{res}/Brand/brand.css", "a{}\n"),
        ),
        lambda r: (
            r.write(f"{res}/Logo/extra.svg", "<svg/>\n"),
            r.write(f"{res}/Logo.resource-meta.xml", "<meta>theirs</meta>\n"),
            r.write(f"{res}/Brand.resource-meta.xml", "<meta>b</meta>\n"),
        ),
    )
    answer, result = repo.assert_agrees()
    assert result.conflicts == (f"{res}/Logo.resource-meta.xml",)
