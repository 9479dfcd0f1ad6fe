"""`manage.py seed_demo`: the demo data, the git storage behind it, and what it refuses to do."""

from __future__ import annotations

import json
import re
import subprocess
from io import StringIO
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client

from branching.models import Collection, Feature, Repository, SourceFormat
from instances.models import Direction, Instance, OrgType, Promotion, Purpose
from releasemgr.models import AuditEvent
from releasemgr.roles import DEVELOPERS, RELEASE_MANAGERS
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

EXPECTED = {
    # name: (repository, purpose, org type, branch, parent)
    "Production": ("Acme Salesforce", Purpose.PRODUCTION, OrgType.PRODUCTION, "main", None),
    "UAT": ("Acme Salesforce", Purpose.UAT, OrgType.SANDBOX, "uat", "Production"),
    "QA": ("Acme Salesforce", Purpose.QA, OrgType.SANDBOX, "qa", "UAT"),
    "Integration": ("Acme Salesforce", Purpose.INTEGRATION, OrgType.SANDBOX, "integration", "QA"),
    "Dev Alice": (
        "Acme Salesforce",
        Purpose.DEVELOPMENT,
        OrgType.SANDBOX,
        "dev/alice",
        "Integration",
    ),
    "Dev Bob": ("Acme Salesforce", Purpose.DEVELOPMENT, OrgType.SANDBOX, "dev/bob", "Integration"),
    "Scratch CI": (
        "Acme Salesforce",
        Purpose.DEVELOPMENT,
        OrgType.SCRATCH,
        "scratch/ci",
        "Integration",
    ),
    "Q1 Staging": (
        "Acme Salesforce — Release 2027-Q1",
        Purpose.STAGING,
        OrgType.SANDBOX,
        "release/2027-q1-staging",
        "UAT",
    ),
    "Q1 Dev": (
        "Acme Salesforce — Release 2027-Q1",
        Purpose.DEVELOPMENT,
        OrgType.SANDBOX,
        "release/2027-q1-dev",
        "Q1 Staging",
    ),
}
PASSWORD_LINE = re.compile(r"^Demo password for admin, release-manager and developer: (\S+)$", re.M)


@pytest.fixture
def data_dir(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.DATA_DIR = tmp_path
    settings.REPOSITORIES_DIR = tmp_path / "repositories"  # derived at import time
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    return tmp_path


@pytest.fixture
def bare(data_dir: Path) -> Path:
    return data_dir / "repositories" / "acme-salesforce.git"


def seed(*args: str) -> str:
    """The hierarchy and users; the story's own tests are in test_seed_demo_story.py."""
    out = StringIO()
    call_command("seed_demo", "--no-story", *args, stdout=out)
    return out.getvalue()


def seed_with_story(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def git(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        text=True,
        check=False,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path), "PATH": "/usr/bin:/bin"},
    )


def test_it_seeds_the_hierarchy_with_the_exact_names_and_parents(data_dir: Path) -> None:
    seed()
    found = {
        instance.name: (
            instance.repository.name,
            instance.purpose,
            instance.org_type,
            instance.branch,
            instance.parent.name if instance.parent else None,
        )
        for instance in Instance.objects.select_related("repository", "parent")
    }
    assert found == EXPECTED
    assert all(i.storage_key == "local:acme-salesforce" for i in Instance.objects.all())


def test_it_requires_approval_for_promotions_into_uat_and_production_only(
    data_dir: Path,
) -> None:
    seed()
    approving = set(Instance.objects.filter(requires_approval=True).values_list("name", flat=True))
    assert approving == {"UAT", "Production"}
    assert Instance.objects.filter(requires_approval=False).count() == len(EXPECTED) - 2


def test_it_seeds_an_everyday_and_a_long_term_repository_on_one_storage(data_dir: Path) -> None:
    seed()
    everyday = Repository.objects.get(name="Acme Salesforce")
    long_term = Repository.objects.get(name="Acme Salesforce — Release 2027-Q1")
    assert (everyday.storage, everyday.main_branch, everyday.is_long_term) == (
        "acme-salesforce",
        "main",
        False,
    )
    assert (long_term.storage, long_term.main_branch, long_term.is_long_term) == (
        "acme-salesforce",
        "release/2027-q1",
        True,
    )
    assert everyday.storage_key == long_term.storage_key
    assert (
        everyday.local_path == long_term.local_path == data_dir / "repositories/acme-salesforce.git"
    )
    for repository in (everyday, long_term):
        assert repository.source_format == SourceFormat.SOURCE
        assert repository.package_directories == [{"path": "force-app", "default": True}]
    assert everyday.source_api_version == "62.0"
    assert long_term.source_api_version == "63.0"  # the long-term branch moved ahead
    created = AuditEvent.objects.filter(action="created")
    assert created.count() == 2 + len(EXPECTED)
    assert all(len(event.to_commit) == 40 for event in created)


def test_it_builds_every_branch_in_a_bare_repository_git_finds_clean(bare: Path) -> None:
    seed_with_story()
    fsck = git(bare, "fsck", "--strict", "--no-dangling")
    assert fsck.returncode == 0, fsck.stderr
    assert fsck.stdout == ""
    branches = set(
        git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").stdout.split()
    )
    features = {b for b in branches if b.startswith("feature/")}
    assert len(features) == 12  # the story's
    assert branches == (
        {branch for *_, branch, _parent in EXPECTED.values()} | {"release/2027-q1"} | features
    )  # and no temporary branch left behind

    def contains(branch: str, commit: str) -> bool:
        return git(bare, "merge-base", "--is-ancestor", commit, branch).returncode == 0

    reverts = set(
        Promotion.objects.filter(direction=Direction.ROLLBACK).values_list(
            "target_head_after", flat=True
        )
    )
    assert len(reverts) == 1  # the story rolls one promotion back
    for _repo, _purpose, _org, branch, _parent in EXPECTED.values():
        # Environments hold the main branch, the long-term branch and features, nothing else:
        # whatever else they have are the merges promotions made and the rollbacks' reverts.
        own = git(
            bare, "rev-list", "--parents", branch, "--not", "main", "release/2027-q1", *features
        ).stdout.splitlines()
        assert all(len(line.split()) == 3 or line.split()[0] in reverts for line in own), (
            f"{branch}: {own}"
        )
        if branch.startswith("release/"):
            assert contains("release/2027-q1", branch)
    assert contains("release/2027-q1", "main~2")  # the long-term branch left from main
    assert contains("main", "feature/RM-101-invoice-pdf-footer")  # in production
    assert not contains("main", "feature/RM-103-customer-portal-banner")  # only up to UAT
    assert contains("uat", "feature/RM-103-customer-portal-banner")


def test_it_writes_a_few_weeks_of_history_by_several_authors(bare: Path) -> None:
    seed()
    # The seeded history itself (the story's merges and feature commits aside).
    log = git(
        bare, "log", "--first-parent", "--no-merges", "--format=%an|%at|%s", "main"
    ).stdout.splitlines()
    assert 8 <= len(log) <= 12
    authors = {line.split("|")[0] for line in log}
    assert len(authors) >= 3
    times = [int(line.split("|")[1]) for line in log]
    assert times == sorted(times, reverse=True)
    assert 14 * 86400 <= times[0] - times[-1] <= 60 * 86400
    assert "Add Invoice object" in {line.split("|")[2] for line in log}


def test_it_writes_a_realistic_salesforce_dx_project(bare: Path) -> None:
    seed()
    paths = git(bare, "ls-tree", "-r", "--name-only", "release/2027-q1").stdout.splitlines()
    src = "force-app/main/default/"
    expected = [
        "sfdx-project.json",
        ".forceignore",
        "README.md",
        f"{src}classes/InvoiceService.cls",
        f"{src}classes/InvoiceService.cls-meta.xml",
        f"{src}classes/InvoiceTriggerHandler.cls",
        f"{src}classes/InvoiceSelector.cls",
        f"{src}classes/InvoiceServiceTest.cls",
        f"{src}triggers/InvoiceTrigger.trigger",
        f"{src}triggers/InvoiceTrigger.trigger-meta.xml",
        f"{src}objects/Invoice__c/Invoice__c.object-meta.xml",
        f"{src}objects/Invoice__c/fields/Amount__c.field-meta.xml",
        f"{src}objects/Invoice__c/listViews/All.listView-meta.xml",
        f"{src}objects/Invoice__c/validationRules/Amount_Must_Be_Positive.validationRule-meta.xml",
        f"{src}layouts/Invoice__c-Invoice Layout.layout-meta.xml",
        f"{src}permissionsets/Invoice_Manager.permissionset-meta.xml",
        f"{src}objects/Payment__c/Payment__c.object-meta.xml",
        f"{src}classes/PaymentService.cls",
    ]
    assert not [path for path in expected if path not in paths]
    bundles = {path.split("/")[4] for path in paths if path.startswith(f"{src}lwc/")}
    assert len(bundles) >= 2
    for bundle in bundles:
        for ext in (".js", ".html", ".js-meta.xml"):
            assert f"{src}lwc/{bundle}/{bundle}{ext}" in paths
    for path in paths:
        content = git(bare, "show", f"release/2027-q1:{path}").stdout
        if path.endswith(".xml"):
            root = ElementTree.fromstring(content.encode())  # noqa: S314 (our own content)
            assert root.tag.startswith("{http://soap.sforce.com/2006/04/metadata}"), path
        elif path.endswith(".json"):
            json.loads(content)
    project = json.loads(git(bare, "show", "main:sfdx-project.json").stdout)
    assert project["packageDirectories"] == [{"path": "force-app", "default": True}]
    assert project["sourceApiVersion"] == "62.0"


def test_it_prints_a_generated_password_once_and_the_users_log_in(data_dir: Path) -> None:
    out = seed()
    passwords = PASSWORD_LINE.findall(out)
    assert len(passwords) == 1
    password = passwords[0]
    assert len(password) >= 16
    for username in ("admin", "release-manager", "developer"):
        assert Client().login(username=username, password=password), username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    manager = User.objects.get(username="release-manager")
    assert not manager.is_superuser
    assert list(manager.groups.values_list("name", flat=True)) == [RELEASE_MANAGERS]
    developer = User.objects.get(username="developer")
    assert list(developer.groups.values_list("name", flat=True)) == [DEVELOPERS]


def test_it_uses_the_demo_password_variable_without_printing_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-2027")
    out = seed()
    assert "demo-pass-2027" not in out
    assert not PASSWORD_LINE.search(out)
    assert Client().login(username="developer", password="demo-pass-2027")


def test_it_does_nothing_with_if_empty_on_a_second_run(data_dir: Path, bare: Path) -> None:
    seed("--if-empty")
    before = {
        "instances": list(Instance.objects.values_list("id", "updated_at")),
        "repositories": list(Repository.objects.values_list("id", "updated_at")),
        "users": list(User.objects.values_list("id", "password")),
        "refs": git(bare, "for-each-ref").stdout,
    }
    out = seed("--if-empty")
    assert "nothing seeded" in out
    assert not PASSWORD_LINE.search(out)
    assert before == {
        "instances": list(Instance.objects.values_list("id", "updated_at")),
        "repositories": list(Repository.objects.values_list("id", "updated_at")),
        "users": list(User.objects.values_list("id", "password")),
        "refs": git(bare, "for-each-ref").stdout,
    }


def test_it_refuses_a_database_that_already_has_a_user(data_dir: Path, bare: Path) -> None:
    make_user("someone")
    with pytest.raises(CommandError, match="already has users"):
        seed()
    assert not Repository.objects.exists()
    assert not bare.exists()  # nothing touched, not even the storage
    assert "nothing seeded" in seed("--if-empty")
    assert not Repository.objects.exists()


def test_it_refuses_a_database_that_already_has_a_repository(data_dir: Path) -> None:
    Repository.objects.create(name="Existing", storage="existing")
    with pytest.raises(CommandError, match="already has repositories"):
        seed()
    assert "nothing seeded" in seed("--if-empty")
    assert list(Repository.objects.values_list("name", flat=True)) == ["Existing"]
    assert not User.objects.exists()


def test_it_reuses_the_git_storage_after_the_database_was_reset(data_dir: Path, bare: Path) -> None:
    seed_with_story()
    refs = git(bare, "for-each-ref").stdout
    Collection.objects.all().delete()
    Promotion.objects.filter(rollback_of__isnull=False).delete()  # they protect what they revert
    Promotion.objects.all().delete()
    Feature.objects.all().delete()
    Instance.objects.update(parent=None)
    Instance.objects.all().delete()
    Repository.objects.all().delete()
    # A reset wipes the audit table too, which nothing in the product may do (append-only).
    AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)
    User.objects.all().delete()
    out = seed_with_story()
    assert "already holds the story's features: not replayed" in out
    assert git(bare, "for-each-ref").stdout == refs
    assert Instance.objects.count() == len(EXPECTED)
    assert git(bare, "fsck", "--strict", "--no-dangling").returncode == 0


def test_it_leaves_the_database_untouched_when_seeding_fails_half_way(data_dir: Path) -> None:
    Group.objects.filter(name=DEVELOPERS).delete()
    with pytest.raises(CommandError, match="role groups are missing"):
        seed()
    assert not Repository.objects.exists()
    assert not Instance.objects.exists()
    assert not User.objects.exists()
