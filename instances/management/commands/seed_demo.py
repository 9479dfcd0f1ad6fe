"""`manage.py seed_demo [--if-empty]`: a demo to click through, on an empty database only.

It builds a Salesforce DX repository with a few weeks of history in a local bare repository,
an everyday Repository and a long-term one on that same storage, the instance hierarchy from
Production down to developer sandboxes and a scratch org, and one user per role. Every model
goes through `full_clean()` first, so the seed is also a check of the hierarchy rules.

The git storage comes first and is reused when it exists (a database reset keeps it); the
database part is one transaction, and existing data is never touched.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from django.utils import timezone
from dulwich.objects import Commit

from branching.git.storage import (
    ObjectId,
    Repo,
    branch_head,
    commit_files,
    create_branch,
    hex_id,
    init_bare,
    update_tree,
)
from branching.models import Repository
from branching.sfdx import SfdxProject, read_project
from instances.management.demo.history import LONG_TERM_HISTORY, MAIN_HISTORY, ZONES, DemoCommit
from instances.models import Instance, OrgType, Purpose
from instances.salesforce import simulation
from releasemgr.models import AuditEvent
from releasemgr.roles import DEVELOPERS, RELEASE_MANAGERS

STORAGE = "acme-salesforce"
EVERYDAY = "Acme Salesforce"
LONG_TERM = "Acme Salesforce — Release 2027-Q1"
MAIN = "main"
LONG_TERM_BRANCH = "release/2027-q1"
DEMO_CREDENTIALS_LINE = "Demo password for admin, release-manager and developer: {}"


class DemoInstance(NamedTuple):
    name: str
    purpose: Purpose
    org_type: OrgType
    branch: str
    parent: str | None
    long_term: bool  # in the long-term Repository (same storage) rather than the everyday one
    # Where its branch starts: main's head, main's parent (these environments have not yet
    # received the production hotfix: a back promotion is waiting), or the long-term head.
    # Every everyday environment branch stays inside main's history.
    starts_at: Literal["main", "main~1", "long-term"]


INSTANCES = (
    DemoInstance("Production", Purpose.PRODUCTION, OrgType.PRODUCTION, "main", None, False, "main"),
    DemoInstance("UAT", Purpose.UAT, OrgType.SANDBOX, "uat", "Production", False, "main~1"),
    DemoInstance("QA", Purpose.QA, OrgType.SANDBOX, "qa", "UAT", False, "main~1"),
    DemoInstance(
        "Integration", Purpose.INTEGRATION, OrgType.SANDBOX, "integration", "QA", False, "main~1"
    ),
    DemoInstance(
        "Dev Alice", Purpose.DEVELOPMENT, OrgType.SANDBOX, "dev/alice", "Integration", False, "main"
    ),
    DemoInstance(
        "Dev Bob", Purpose.DEVELOPMENT, OrgType.SANDBOX, "dev/bob", "Integration", False, "main"
    ),
    DemoInstance(
        "Scratch CI",
        Purpose.DEVELOPMENT,
        OrgType.SCRATCH,
        "scratch/ci",
        "Integration",
        False,
        "main",
    ),
    DemoInstance(
        "Q1 Staging",
        Purpose.STAGING,
        OrgType.SANDBOX,
        "release/2027-q1-staging",
        "UAT",
        True,
        "long-term",
    ),
    DemoInstance(
        "Q1 Dev",
        Purpose.DEVELOPMENT,
        OrgType.SANDBOX,
        "release/2027-q1-dev",
        "Q1 Staging",
        True,
        "long-term",
    ),
)

# Promotions into these wait for a release manager other than the requester; the others run
# as soon as a worker is free.
REQUIRES_APPROVAL = frozenset({"Production", "UAT"})

DESCRIPTIONS = {
    "Production": "The Acme production org.",
    "UAT": "Full sandbox where finance signs off each release.",
    "QA": "Partial-copy sandbox for the QA team's regression runs.",
    "Integration": "Developer Pro sandbox where everyone's work meets first.",
    "Dev Alice": "Alice's developer sandbox.",
    "Dev Bob": "Bob's developer sandbox.",
    "Scratch CI": "Scratch org the CI pipeline recreates for every run.",
    "Q1 Staging": "Staging for the 2027-Q1 release (payments).",
    "Q1 Dev": "Development sandbox for the 2027-Q1 release.",
}

USERS = (
    # username, email, first name, last name, superuser, group
    ("admin", "admin@acme.example", "Ada", "Admin", True, None),
    ("release-manager", "dana.kowalski@acme.example", "Dana", "Kowalski", False, RELEASE_MANAGERS),
    ("developer", "alice.martin@acme.example", "Alice", "Martin", False, DEVELOPERS),
)


class Command(BaseCommand):
    help = (
        "Fill an empty database with a demo: a Salesforce DX repository with history, a "
        "long-term project, an instance hierarchy and one user per role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) when the database already has repositories or users, "
            "instead of failing; for start-up scripts.",
        )
        parser.add_argument(
            "--no-story",
            action="store_true",
            help="Seed the repositories, instances and users only: no features or promotions.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if_empty: bool = options["if_empty"]
        if self._already_filled(if_empty):
            return
        if not options["no_story"] and simulation.enabled():
            # The story deploys to the demo's simulated org: its port must be free first.
            from instances.salesforce.simulation.demo import SimulationRefused, check_port

            try:
                check_port()
            except SimulationRefused as exc:
                raise CommandError(str(exc)) from None
        everyday = Repository(name=EVERYDAY, storage=STORAGE, main_branch=MAIN)
        with init_bare(everyday.local_path, default_branch=MAIN) as repo:
            heads = build_storage(repo)
            projects = {
                MAIN: read_project(repo, heads[MAIN]),
                LONG_TERM_BRANCH: read_project(repo, heads[LONG_TERM_BRANCH]),
            }
        password = os.environ.get("DEMO_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                # Checked again inside the transaction: another seed may have run meanwhile.
                if self._already_filled(if_empty):
                    return
                counts = seed_database(everyday, heads, projects, password)
        except IntegrityError as error:
            if if_empty:
                self.stdout.write(f"Another seed got there first ({error}); nothing seeded.")
                return
            raise CommandError(f"The database changed while seeding: {error}") from error
        story = {} if options["no_story"] else tell_story()
        told = (
            f", then {story['features']} features and {story['promotions']} promotions through "
            "the engine"
            if story
            else ""
            if options["no_story"]
            else " (the git storage already holds the story's features: not replayed)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['repositories']} repositories, {counts['instances']} "
                f"instances and {counts['users']} users{told}; git storage at "
                f"{everyday.local_path}."
            )
        )
        if generated:
            self.stdout.write(DEMO_CREDENTIALS_LINE.format(password))
        else:
            self.stdout.write("The demo users' password is the one in DEMO_PASSWORD.")

    def _already_filled(self, if_empty: bool) -> bool:
        found = [
            label
            for label, exists in (
                ("repositories", Repository.objects.exists()),
                ("instances", Instance.objects.exists()),
                ("users", get_user_model().objects.exists()),
            )
            if exists
        ]
        if not found:
            return False
        what = ", ".join(found[:-1]) + " and " + found[-1] if len(found) > 1 else found[0]
        if if_empty:
            self.stdout.write(f"The database already has {what}; nothing seeded.")
            return True
        raise CommandError(
            f"The database already has {what}. seed_demo only fills an empty database and "
            "never touches existing data (use --if-empty to skip it quietly)."
        )


# --------------------------------------------------------------------------- git


def build_storage(repo: Repo) -> dict[str, ObjectId]:
    """Create the history and every branch the demo needs, keeping whatever already exists.

    Returns the head of each branch. A branch is only published once its commits are stored,
    so an interrupted seed leaves no half-built branch behind.
    """
    now = timezone.now()
    main_head = branch_head(repo, MAIN) or create_branch(
        repo, MAIN, _commit_history(repo, None, MAIN_HISTORY, now)
    )
    main_commit = repo[main_head]
    assert isinstance(main_commit, Commit)
    main_parent = main_commit.parents[0] if main_commit.parents else main_head

    long_term_head = branch_head(repo, LONG_TERM_BRANCH) or create_branch(
        repo, LONG_TERM_BRANCH, _commit_history(repo, main_head, LONG_TERM_HISTORY, now)
    )

    starts = {"main": main_head, "main~1": main_parent, "long-term": long_term_head}
    heads = {MAIN: main_head, LONG_TERM_BRANCH: long_term_head}
    for demo in INSTANCES:
        heads[demo.branch] = branch_head(repo, demo.branch) or create_branch(
            repo, demo.branch, starts[demo.starts_at]
        )
    return heads


def _commit_history(
    repo: Repo, parent: ObjectId | None, history: tuple[DemoCommit, ...], now: datetime
) -> ObjectId:
    tree = None
    if parent is not None:
        parent_commit = repo[parent]
        assert isinstance(parent_commit, Commit)
        tree = parent_commit.tree
    for step in history:
        tree = update_tree(repo, tree, step.changes)
        zone = ZONES[step.author]
        day = now.astimezone(zone).date() - timedelta(days=step.days_ago)
        when = datetime.combine(day, time.fromisoformat(step.at), tzinfo=zone)
        parent = commit_files(
            repo,
            parents=[parent] if parent is not None else [],
            tree=tree,
            message=step.message,
            author=step.author,
            committer=step.author,
            when=when,
        )
    assert parent is not None
    return parent


# --------------------------------------------------------------------------- database


def seed_database(
    everyday: Repository,
    heads: dict[str, ObjectId],
    projects: dict[str, SfdxProject],
    password: str,
) -> dict[str, int]:
    """Repositories, instances and users; the caller holds the transaction."""
    long_term = Repository(
        name=LONG_TERM,
        storage=STORAGE,
        main_branch=LONG_TERM_BRANCH,
        is_long_term=True,
        description="The 2027-Q1 release (payments), developed on its own long-term branch "
        "and merged into main when it ships.",
    )
    everyday.description = "Invoicing on the Acme org: the everyday development line."
    repositories = {False: everyday, True: long_term}
    for repository, branch in ((everyday, MAIN), (long_term, LONG_TERM_BRANCH)):
        project = projects[branch]
        if project.source_format:
            repository.source_format = project.source_format
        repository.package_directories = project.package_directories_data()
        repository.source_api_version = project.source_api_version
        _save(repository, to_commit=heads[branch])

    created: dict[str, Instance] = {}
    for demo in INSTANCES:
        instance = Instance(
            name=demo.name,
            purpose=demo.purpose,
            org_type=demo.org_type,
            repository=repositories[demo.long_term],
            branch=demo.branch,
            parent=created[demo.parent] if demo.parent else None,
            description=DESCRIPTIONS[demo.name],
            requires_approval=demo.name in REQUIRES_APPROVAL,
        )
        _save(instance, to_commit=heads[demo.branch])
        created[demo.name] = instance

    groups = {
        group.name: group for group in Group.objects.filter(name__in=[RELEASE_MANAGERS, DEVELOPERS])
    }
    if len(groups) != 2:
        raise CommandError("The role groups are missing; run `manage.py migrate` first.")
    for username, email, first, last, superuser, group in USERS:
        user: AbstractUser = get_user_model()(
            username=username,
            email=email,
            first_name=first,
            last_name=last,
            is_staff=superuser,
            is_superuser=superuser,
        )
        user.set_password(password)
        user.full_clean()
        user.save()
        if group:
            user.groups.add(groups[group])
    return {"repositories": 2, "instances": len(created), "users": len(USERS)}


def tell_story() -> dict[str, int]:
    """The last few weeks of the everyday pipeline, through the real engine (`_demo_story`)."""
    from instances.management.commands._demo_story import already_told, tell

    everyday = Repository.objects.get(name=EVERYDAY)
    if already_told(everyday):
        return {}
    instances = {i.name: i for i in Instance.objects.filter(repository=everyday)}
    users = {u.username: u for u in get_user_model().objects.all()}
    return tell(everyday, instances, users)


def _save(obj: Repository | Instance, to_commit: bytes) -> None:
    # storage_key is derived on save; full_clean needs it first to check the unique
    # (storage, branch) constraint.
    if isinstance(obj, Repository):
        obj.storage_key = obj.compute_storage_key()
    else:
        obj.storage_key = obj.repository.storage_key
    obj.full_clean()
    obj.save()
    AuditEvent.record(None, "created", obj, {"via": "seed_demo"}, to_commit=hex_id(to_commit))
