"""Pages and promotion steps look branches up by name: none of them lists the refs.

dulwich's `allkeys` (every listing of refs goes through it) and its whole-file packed-refs
parse are spied on while a feature is promoted and the pages that show it are read, with a
thousand other branches packed in the repository.
"""

import pytest
from dulwich.refs import DiskRefsContainer

from branching.git import storage
from tests.branching.test_storage import git
from tests.instances.promotions.helpers import INVOICE, commit_to, promote, start

pytestmark = pytest.mark.django_db


def test_a_promotion_and_its_pages_never_list_the_refs(
    git_pipeline, developer, client_for, monkeypatch
):
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    commit_to(feature, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    repository = git_pipeline["repo"]
    with storage.open_repo(repository.local_path) as repo:
        head = storage.branch_head(repo, "main")
        assert head is not None
        others = "".join(f"create refs/heads/old/{n:04d} {head.decode()}\n" for n in range(1000))
        git(repo, "update-ref", "--stdin", stdin=others)
        git(repo, "pack-refs", "--all")

    calls: list[str] = []
    for name in ("allkeys", "get_packed_refs"):
        original = getattr(DiskRefsContainer, name)

        def wrapper(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(DiskRefsContainer, name, wrapper)

    promotion = promote([feature], git_pipeline["alice"], developer)
    client = client_for("developer")
    for url in (
        git_pipeline["alice"].get_absolute_url(),
        feature.get_absolute_url(),
        promotion.get_absolute_url(),
    ):
        assert client.get(url).status_code == 200
    assert calls == []
