"""`manage.py build_package --repo PATH --from REV --to REV --output DIR`.

Writes the Metadata API package for a git delta: package.xml, destructiveChanges.xml when
something was deleted, and the components in metadata format. What CI runs before a
deployment, and what a release manager runs to see what a promotion would deploy.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from dulwich.errors import NotGitRepository

from branching.git.errors import BROKEN_OBJECT_ERRORS, broken_repository
from branching.git.storage import open_repo
from branching.metadata import EMPTY_TREE, PackageError, RevisionError, build_package


class Command(BaseCommand):
    help = (
        "Build a Metadata API deployment package (package.xml, destructiveChanges.xml, "
        "components in metadata format) from the changes between two revisions."
    )
    requires_system_checks: list[str] = []  # no database, no models: any git repository will do

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--repo", required=True, help="path of the git repository")
        parser.add_argument(
            "--from",
            dest="from_rev",
            required=True,
            help=f"starting revision (branch or commit; {EMPTY_TREE} for everything)",
        )
        parser.add_argument("--to", dest="to_rev", required=True, help="target revision")
        parser.add_argument("--output", required=True, help="folder to write the package into")

    def handle(self, *args: Any, **options: Any) -> None:
        repo_path = Path(options["repo"])
        output = Path(options["output"])
        if not repo_path.exists():
            raise CommandError(f"No repository at {repo_path}.")
        if output.exists() and not output.is_dir():
            raise CommandError(f"{output} exists and is not a folder.")
        if output.is_dir() and any(output.iterdir()):
            raise CommandError(f"{output} is not empty; give an empty or new folder.")
        try:
            repo = open_repo(repo_path)
        except NotGitRepository:
            raise CommandError(f"{repo_path} is not a git repository.") from None
        with repo:
            try:
                package = build_package(repo, options["from_rev"], options["to_rev"], output)
            except (RevisionError, PackageError) as error:
                raise CommandError(str(error)) from error
            except BROKEN_OBJECT_ERRORS as error:
                raise CommandError(str(broken_repository(error))) from None
        for warning in package.warnings:
            self.stderr.write(f"warning: {warning}")
        deployed = sum(len(m) for m in package.delta.package.values())
        deleted = sum(len(m) for m in package.delta.destructive.values())
        self.stdout.write(
            f"{deployed} component(s) to deploy, {deleted} to delete, "
            f"{len(package.files)} file(s) written to {output} (API {package.api_version})."
        )
