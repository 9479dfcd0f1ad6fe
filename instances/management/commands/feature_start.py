"""`manage.py feature_start`: what a developer does with "Start a feature", from a terminal or CI.

The feature branch is cut from the main branch of the instance's repository (a long-term
project's instance cuts it from the long-term branch). The command lives in `instances`
because it starts from an instance; `branching` never imports from `instances`.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from branching import workspace
from branching.features import FeatureError, start_feature
from branching.git.remote import RemoteError
from instances.management.commands._cli import acting_user, instance_named, reason, refuse


class Command(BaseCommand):
    help = (
        "Start a feature from an instance: cut its branch from the main branch of the "
        "instance's repository and print where to clone it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--instance", required=True, help="The instance it starts from.")
        parser.add_argument("--key", required=True, help="The feature key, such as RM-42.")
        parser.add_argument("--title", required=True)
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="The owner, who must be allowed to add features; default: the first superuser.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print {key, branch, repository, clone_url, path, base_commit, started_from}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = acting_user(options["username"], perm="branching.add_feature", doing="add features")
        instance = instance_named(options["instance"], owner)
        repository = instance.repository
        try:
            feature = start_feature(
                repository,
                key=options["key"],
                title=options["title"],
                owner=owner,
                started_from_id=instance.pk,
            )
        except FeatureError as exc:
            raise refuse(reason(exc)) from None
        except (RemoteError, ValueError) as exc:  # the remote said no; a clashing branch name
            raise refuse(str(exc)) from None
        url = workspace.clone_url(repository)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "key": feature.key,
                        "branch": feature.branch,
                        "repository": repository.name,
                        "clone_url": url,
                        "path": "" if repository.remote_url else workspace.server_path(repository),
                        "base_commit": feature.base_commit,
                        "started_from": instance.name,
                    }
                )
            )
            return
        self.stdout.write(
            f"Started {feature.key} “{feature.title}” from {instance.name}: branch "
            f"{feature.branch}, cut from {repository.main_branch} at {feature.base_commit[:10]}."
        )
        self.stdout.write(shlex.join(["git", "clone", "--branch", feature.branch, url]))
