"""Personas and factories shared by the whole suite."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from branching.models import Repository
from instances.models import Instance, OrgType, Purpose
from releasemgr.roles import DEVELOPERS, RELEASE_MANAGERS

_counter = itertools.count(1)

PASSWORD = "correct horse battery staple"


def make_user(username: str, group: str | None = None, **extra: Any) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("alice-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def release_manager(db: None) -> User:
    return make_user("rita-rm", RELEASE_MANAGERS)


@pytest.fixture
def developer(db: None) -> User:
    return make_user("dan-dev", DEVELOPERS)


@pytest.fixture
def outsider(db: None) -> User:
    return make_user("oscar-outsider")


@pytest.fixture
def personas(
    admin_user: User, release_manager: User, developer: User, outsider: User
) -> dict[str, User | None]:
    return {
        "anonymous": None,
        "outsider": outsider,
        "developer": developer,
        "release_manager": release_manager,
        "admin": admin_user,
    }


@pytest.fixture
def client_for(personas: dict[str, User | None]) -> Callable[[str], Client]:
    def make(persona: str) -> Client:
        client = Client()
        user = personas[persona]
        if user is not None:
            client.force_login(user)
        return client

    return make


def make_repository(**fields: Any) -> Repository:
    n = next(_counter)
    fields.setdefault("name", f"Repository {n}")
    fields.setdefault("storage", f"storage-{n}")
    return Repository.objects.create(**fields)


def make_instance(repository: Repository | None = None, **fields: Any) -> Instance:
    n = next(_counter)
    fields.setdefault("name", f"Instance {n}")
    fields.setdefault("purpose", Purpose.DEVELOPMENT)
    fields.setdefault("org_type", OrgType.SANDBOX)
    fields.setdefault("branch", f"env/instance-{n}")
    return Instance.objects.create(repository=repository or make_repository(), **fields)


@pytest.fixture
def pipeline(db: None) -> dict[str, Instance]:
    """Production ← UAT ← QA ← Integration ← {Dev Alice, Dev Bob, Scratch CI}."""
    repo = make_repository(name="Acme", storage="acme")
    prod = make_instance(
        repo,
        name="Production",
        purpose=Purpose.PRODUCTION,
        org_type=OrgType.PRODUCTION,
        branch="main",
    )
    uat = make_instance(repo, name="UAT", purpose=Purpose.UAT, branch="uat", parent=prod)
    qa = make_instance(repo, name="QA", purpose=Purpose.QA, branch="qa", parent=uat)
    integration = make_instance(
        repo, name="Integration", purpose=Purpose.INTEGRATION, branch="integration", parent=qa
    )
    alice = make_instance(repo, name="Dev Alice", branch="dev/alice", parent=integration)
    bob = make_instance(repo, name="Dev Bob", branch="dev/bob", parent=integration)
    scratch = make_instance(
        repo, name="Scratch CI", org_type=OrgType.SCRATCH, branch="scratch/ci", parent=integration
    )
    return {
        "repo": repo,
        "prod": prod,
        "uat": uat,
        "qa": qa,
        "integration": integration,  # type: ignore[dict-item]
        "alice": alice,
        "bob": bob,
        "scratch": scratch,
    }


@pytest.fixture
def git_repos(settings, tmp_path):
    """Bare repositories of the test live under tmp_path."""
    settings.REPOSITORIES_DIR = tmp_path / "repositories"
    return settings.REPOSITORIES_DIR


@pytest.fixture
def loopback(settings, git_repos):
    """Git servers on loopback over plain http, allowed explicitly, with short timeouts."""
    settings.GIT_ALLOW_INSECURE_TRANSPORTS = True
    settings.GIT_ALLOW_PRIVATE_ADDRESSES = True
    settings.NETWORK_CONNECT_TIMEOUT = 1
    settings.NETWORK_READ_TIMEOUT = 1
    return settings


def seed_storage(repository: Repository, files: dict[str, bytes] | None = None) -> str:
    """Create the repository's bare storage with one commit on its main branch."""
    from branching.git import storage

    files = files or {
        "sfdx-project.json": b'{"packageDirectories": [{"path": "force-app", "default": true}]}\n',
        "force-app/main/default/classes/Invoice.cls": b"public class Invoice {\n}\n",
        "force-app/main/default/classes/Invoice.cls-meta.xml": b"<ApexClass/>\n",
    }
    with storage.init_bare(repository.local_path, default_branch=repository.main_branch) as repo:
        head = storage.commit_files(
            repo, parents=[], files=files, message="Initial", author="Seed <seed@example.com>"
        )
        storage.create_branch(repo, repository.main_branch, head)
        return storage.hex_id(head)


@pytest.fixture
def git_pipeline(pipeline, git_repos):
    """The `pipeline` fixture with real branches: every environment branch at main's head."""
    from branching.git import storage

    repo_model = pipeline["repo"]
    head = seed_storage(repo_model)
    with storage.open_repo(repo_model.local_path) as repo:
        for key, instance in pipeline.items():
            if key != "repo" and instance.branch != repo_model.main_branch:
                storage.create_branch(repo, instance.branch, head)
    return pipeline


@pytest.fixture
def demo_settings(settings: Any, tmp_path: Any) -> Any:
    """The settings `make run` gives the demo (DEBUG, its simulated org on a free port, and
    what DEMO_SIMULATED_ORG derives in releasemgr/settings.py), with DATA_DIR under tmp_path."""
    from tests.gitservers import free_port

    settings.DEBUG = True
    settings.DATA_DIR = tmp_path
    settings.REPOSITORIES_DIR = tmp_path / "repositories"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.DEMO_SIMULATED_ORG = True
    settings.DEMO_SIMULATED_ORG_PORT = free_port()
    settings.SALESFORCE_EXTRA_HOSTS = ["127.0.0.1"]
    settings.SALESFORCE_CA_BUNDLE = str(tmp_path / "simulated-org" / "ca-bundle.pem")
    settings.DEPLOY_POLL_SECONDS = 0.05
    return settings
