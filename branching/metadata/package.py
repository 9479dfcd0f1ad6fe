"""Build a Metadata API deployment package from two revisions of a repository.

`build_package_files` is the one place the steps meet: resolve the revisions, read the
project (source or metadata format, package directories, API version, `.forceignore`) at the
target revision, compute the delta, convert the files it needs, and lay out the package:
`package.xml` at the top, `destructiveChanges.xml` beside it when something is deleted, the
components in their metadata-format folders. `build_package` writes it to a folder,
`build_package_zip` returns the zip the Metadata API's `deploy()` takes.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dulwich.repo import Repo

from branching import sfdx  # the module: sfdx imports this package's replacements
from branching.git.storage import read_blob
from branching.metadata.convert import ConversionError, convert_source
from branching.metadata.delta import Delta, compute_delta
from branching.metadata.forceignore import ForceIgnore
from branching.metadata.gitread import Snapshot, resolve_revision
from branching.metadata.manifest import render
from branching.metadata.registry import FOLDER, REGISTRY, registry_for
from branching.metadata.replacements import ReplacementError, Replacer
from branching.models import SourceFormat
from releasemgr.metadata_api import API_VERSION

FORCEIGNORE = ".forceignore"
PACKAGE_XML = "package.xml"
DESTRUCTIVE_XML = "destructiveChanges.xml"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# The Metadata API's deploy() limits: files in one package, and the size of its zip.
MAX_FILES = 10_000
MAX_ZIP_BYTES = 39 * 1024 * 1024


class PackageError(ValueError):
    """The package cannot be built; the message says why in words a release manager reads."""


@dataclass
class Package:
    """A built package: its files (path inside the package → bytes) and how it came about."""

    files: dict[str, bytes]
    delta: Delta
    api_version: str
    from_commit: str | None
    to_commit: str
    source_format: str
    warnings: list[str] = field(default_factory=list)

    @property
    def has_destructive_changes(self) -> bool:
        return DESTRUCTIVE_XML in self.files

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(self.files, key=lambda p: (p != PACKAGE_XML, p)):
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, self.files[name])
        return buffer.getvalue()


def _api_version(version: str) -> str:
    if not version:
        return API_VERSION
    return f"{int(float(version))}.0"


def _ignore_at(repo: Repo, commit: str) -> ForceIgnore:
    text = read_blob(repo, commit, FORCEIGNORE) or b""
    return ForceIgnore(text.decode("utf-8", "replace"))


def delta(
    repo: Repo, from_commit: str, to_commit: str, package_dirs: list[str] | None = None
) -> Delta:
    """Components added/modified and deleted between two revisions (see `delta.py`).

    `from_commit` may be git's empty tree id for everything; `package_dirs` default to the
    project's package directories at `to_commit`; `.forceignore` is read at `to_commit`.
    """
    old = resolve_revision(repo, from_commit, allow_empty_tree=True)
    new = resolve_revision(repo, to_commit)
    assert new is not None
    project = sfdx.read_project(repo, new)
    if package_dirs is None:
        package_dirs = [d.path for d in project.package_directories]
    return compute_delta(
        repo, old, new, package_dirs, _ignore_at(repo, new), project.behavior_options
    )


def build_package_files(
    repo: Repo, from_rev: str, to_rev: str, *, api_version: str | None = None
) -> Package:
    """Everything a deployment of `from_rev..to_rev` needs, in memory."""
    from_commit = resolve_revision(repo, from_rev, allow_empty_tree=True)
    to_commit = resolve_revision(repo, to_rev)
    assert to_commit is not None
    project = sfdx.read_project(repo, to_commit)
    if project.source_format is None:
        raise PackageError("; ".join(project.problems) or "Not a Salesforce project.")
    directories = [d.path for d in project.package_directories]
    if not directories:
        raise PackageError("; ".join(project.problems) or "The project has no package directory.")
    version = api_version or _api_version(project.source_api_version)
    ignore = _ignore_at(repo, to_commit)
    delta = compute_delta(
        repo, from_commit, to_commit, directories, ignore, project.behavior_options
    )
    sources: dict[str, bytes] = {}
    snapshot = Snapshot(repo, to_commit)
    for path in sorted(delta.files):
        content = snapshot.read(path)
        if content is not None:
            sources[path] = content
    sources.update(delta.pruned)
    if project.replacements and project.source_format == SourceFormat.SOURCE:
        replacer = Replacer(project.replacements, lambda path: snapshot.read(path))
        try:
            sources = {path: replacer.apply(path, content) for path, content in sources.items()}
        except ReplacementError as error:
            raise PackageError(str(error)) from error
    files: dict[str, bytes] = {}
    warnings = [*ignore.problems, *delta.warnings]
    extra: dict[str, set[str]] = {}
    if project.source_format == SourceFormat.METADATA:
        for path, content in sources.items():
            relative = _inside(path, directories)
            if relative is not None and relative != PACKAGE_XML:
                files[relative] = content
    else:
        try:
            conversion = convert_source(
                sources, ignore, tuple(directories), registry_for(project.behavior_options)
            )
        except ConversionError as error:
            raise PackageError(str(error)) from error
        files.update(conversion.files)
        extra = conversion.manifest_members()
        warnings.extend(
            f"{path}: not part of a component this package can convert."
            for path in conversion.unresolved
        )
    manifest = delta.package
    if from_commit is None and project.source_format == SourceFormat.SOURCE:
        manifest = _full_manifest(delta.package, extra)
    files[PACKAGE_XML] = render(manifest, version)
    if delta.destructive:
        files[DESTRUCTIVE_XML] = render(delta.destructive, version)
    return Package(
        files=files,
        delta=delta,
        api_version=version,
        from_commit=from_commit,
        to_commit=to_commit,
        source_format=str(project.source_format),
        warnings=warnings,
    )


def _full_manifest(members: dict[str, set[str]], extra: dict[str, set[str]]) -> dict[str, set[str]]:
    """A full package's manifest is the one SDR writes for the whole project (`sf project
    convert source`): sgd's members, plus the labels' container and the contents of digital
    experience bundles, and folders listed under the type they hold, with a trailing slash
    (`Report NPSP_Health_Check/Households/`, not `ReportFolder …`)."""
    manifest: dict[str, set[str]] = {}
    for name, found in members.items():
        mdtype = REGISTRY.types.get(name)
        if mdtype is not None and mdtype.kind == FOLDER and mdtype.folder_type:
            manifest.setdefault(mdtype.folder_type, set()).update(f"{m}/" for m in found)
        else:
            manifest.setdefault(name, set()).update(found)
    for name, found in extra.items():
        manifest.setdefault(name, set()).update(found)
    return manifest


def _inside(path: str, directories: list[str]) -> str | None:
    for directory in directories:
        prefix = directory.strip("/") + "/"
        if path.startswith(prefix):
            return path[len(prefix) :]
    return None


def build_package(
    repo: Repo, from_rev: str, to_rev: str, output_dir: str | os.PathLike[str]
) -> Package:
    """Write the package for `from_rev..to_rev` into `output_dir` (created if needed)."""
    package = build_package_files(repo, from_rev, to_rev)
    root = Path(output_dir)
    for name, content in package.files.items():
        target = root.joinpath(*name.split("/"))
        if not target.resolve().is_relative_to(root.resolve()):
            raise PackageError(f"Refusing to write outside the output folder: {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return package


def check_deploy_limits(package: Package, zip_bytes: bytes) -> None:
    """Refuse, before anything is sent, a package Salesforce's deploy() would refuse."""
    advice = (
        "Split the promotion: promote fewer features (or a smaller collection) at a time, "
        "so that each deployment stays within Salesforce's limits."
    )
    if len(package.files) > MAX_FILES:
        raise PackageError(
            f"The package has {len(package.files):,} files; Salesforce deploys at most "
            f"{MAX_FILES:,} files at once. {advice}"
        )
    if len(zip_bytes) > MAX_ZIP_BYTES:
        raise PackageError(
            f"The package zips to {len(zip_bytes) / 2**20:,.1f} MB; Salesforce deploys at most "
            f"{MAX_ZIP_BYTES / 2**20:,.0f} MB zipped at once. {advice}"
        )


def build_package_zip(repo: Repo, from_rev: str, to_rev: str) -> bytes:
    """The deploy-ready zip (package.xml at its root) for `from_rev..to_rev`, within the
    deploy limits (else PackageError)."""
    package = build_package_files(repo, from_rev, to_rev)
    zip_bytes = package.zip_bytes()
    check_deploy_limits(package, zip_bytes)
    return zip_bytes
