"""What a commit says about its Salesforce project: source or metadata format, package
directories, API version.

Read straight from the bare repository (no checkout). The file is written by people, so a
missing or broken `sfdx-project.json` is an answer with problems listed, never an exception:
the repository page shows what is wrong and the rest of the app keeps working.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass, field
from typing import Any

from dulwich.errors import FileFormatException
from dulwich.repo import Repo

from branching.git.storage import IdLike, hex_id, path_mode, read_blob
from branching.metadata.replacements import Replacement, parse_replacements
from branching.models import SourceFormat

PROJECT_FILE = "sfdx-project.json"
METADATA_MANIFEST = "src/package.xml"

_API_VERSION = re.compile(r"^\d{2,3}\.0$")
# A regular expression, not an XML parser: the manifest comes from the repository, and the
# version is all we need from it (no entity expansion, nothing to go wrong on a huge file).
_MANIFEST_VERSION = re.compile(rb"<version>\s*(\d{2,3}\.0)\s*</version>")


@dataclass(frozen=True)
class PackageDirectory:
    path: str
    default: bool = False
    package: str = ""


@dataclass(frozen=True)
class SfdxProject:
    """The project layout at one commit, and what is wrong with it (empty `problems`: nothing)."""

    source_format: SourceFormat | None
    package_directories: tuple[PackageDirectory, ...] = ()
    source_api_version: str = ""
    problems: tuple[str, ...] = field(default=())
    # `replacements`: text substitutions SDR makes while it converts (see replacements.py)
    replacements: tuple[Replacement, ...] = ()
    # `sourceBehaviorOptions`: SDR's opt-in decomposed layouts (decomposePermissionSetBeta2 …)
    behavior_options: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def default_directory(self) -> PackageDirectory | None:
        for directory in self.package_directories:
            if directory.default:
                return directory
        return self.package_directories[0] if len(self.package_directories) == 1 else None

    def package_directories_data(self) -> list[dict[str, Any]]:
        """The form `Repository.package_directories` stores (a JSON list)."""
        data: list[dict[str, Any]] = []
        for directory in self.package_directories:
            item: dict[str, Any] = {"path": directory.path, "default": directory.default}
            if directory.package:
                item["package"] = directory.package
            data.append(item)
        return data


def read_project(repo: Repo, commit: IdLike) -> SfdxProject:
    """Read the project at `commit`: sfdx-project.json (source format) or src/package.xml
    (metadata format)."""
    try:
        raw = read_blob(repo, commit, PROJECT_FILE)
        manifest = None if raw is not None else read_blob(repo, commit, METADATA_MANIFEST)
    except (KeyError, ValueError, OSError, FileFormatException) as error:
        shown = hex_id(commit)[:12] if _looks_like_id(commit) else repr(commit)
        return SfdxProject(
            source_format=None,
            problems=(f"Cannot read commit {shown} from the repository ({_describe(error)}).",),
        )
    if raw is not None:
        return _parse_project_file(repo, commit, raw)
    if manifest is not None:
        match = _MANIFEST_VERSION.search(manifest)
        return SfdxProject(
            source_format=SourceFormat.METADATA,
            package_directories=(PackageDirectory("src", default=True),),
            source_api_version=match.group(1).decode() if match else "",
        )
    return SfdxProject(
        source_format=None,
        problems=(
            f"Neither {PROJECT_FILE} (source format) nor {METADATA_MANIFEST} (metadata format) "
            "is at the root of the repository.",
        ),
    )


def _parse_project_file(repo: Repo, commit: IdLike, raw: bytes) -> SfdxProject:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _broken("is not UTF-8 text.")
    except json.JSONDecodeError as error:
        return _broken(
            f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        )
    if not isinstance(data, dict):
        return _broken("must contain a JSON object ({ … }).")

    problems: list[str] = []
    directories = _package_directories(repo, commit, data.get("packageDirectories"), problems)
    version = data.get("sourceApiVersion", "")
    if not isinstance(version, str) or (version and not _API_VERSION.match(version)):
        problems.append(
            f'sourceApiVersion must be a version such as "62.0", not {json.dumps(version)}.'
        )
        version = ""
    replacements, replacement_problems = parse_replacements(data.get("replacements"))
    problems.extend(replacement_problems)
    return SfdxProject(
        source_format=SourceFormat.SOURCE,
        package_directories=tuple(directories),
        source_api_version=version,
        problems=tuple(problems),
        replacements=replacements,
        behavior_options=tuple(
            option
            for option in data.get("sourceBehaviorOptions") or data.get("registryPresets") or []
            if isinstance(option, str)
        ),
    )


def _package_directories(
    repo: Repo, commit: IdLike, value: object, problems: list[str]
) -> list[PackageDirectory]:
    if value is None:
        problems.append("packageDirectories is missing: list at least one package directory.")
        return []
    if not isinstance(value, list) or not value:
        problems.append("packageDirectories must be a non-empty list.")
        return []
    directories: list[PackageDirectory] = []
    for position, item in enumerate(value, start=1):
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str) or not path.strip().strip("/"):
            problems.append(f'Package directory #{position} has no "path".')
            continue
        path = path.strip().removeprefix("./").strip("/")
        if path.startswith("/") or ".." in path.split("/"):
            problems.append(f"Package directory “{path}” must be a path inside the repository.")
            continue
        default = item.get("default", False)
        if not isinstance(default, bool):
            problems.append(f'Package directory “{path}”: "default" must be true or false.')
            default = False
        package = item.get("package", "")
        directories.append(
            PackageDirectory(path, default, package if isinstance(package, str) else "")
        )
        if not _folder_exists(repo, commit, path):
            problems.append(f"Package directory “{path}” does not exist at this commit.")
    defaults = [directory.path for directory in directories if directory.default]
    if len(defaults) > 1:
        problems.append(
            "Only one package directory can be the default; these all are: "
            + ", ".join(defaults)
            + "."
        )
    elif not defaults and len(directories) > 1:
        problems.append('Mark one package directory as the default ("default": true).')
    return directories


def _folder_exists(repo: Repo, commit: IdLike, path: str) -> bool:
    try:
        mode = path_mode(repo, commit, path)
    except ValueError:
        return False
    return mode is not None and stat.S_ISDIR(mode)


def _broken(reason: str) -> SfdxProject:
    return SfdxProject(source_format=SourceFormat.SOURCE, problems=(f"{PROJECT_FILE} {reason}",))


def _looks_like_id(value: IdLike) -> bool:
    try:
        hex_id(value)
    except ValueError:
        return False
    return True


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return "no such commit"
    return str(error) or type(error).__name__
