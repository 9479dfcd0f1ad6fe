"""Metadata API deployment packages from a git delta.

The promotion engine asks for `build_package_zip(repo, target_head, temporary_head)`; the
`build_package` management command writes the same package to a folder. Both follow the two
tools Salesforce teams already trust: sfdx-git-delta decides *what* goes in the package,
source-deploy-retrieve's converter decides *how* it is written (see docs/packages.md).

No git binary, no subprocess, no working tree: everything is read from the object store.
"""

from branching.metadata.convert import ConversionError, convert_source
from branching.metadata.delta import Delta, compute_delta
from branching.metadata.gitread import EMPTY_TREE, RevisionError, resolve_revision
from branching.metadata.package import (
    Package,
    PackageError,
    build_package,
    build_package_files,
    build_package_zip,
    delta,
)
from branching.metadata.registry import REGISTRY, MetadataType

__all__ = [
    "EMPTY_TREE",
    "REGISTRY",
    "ConversionError",
    "Delta",
    "MetadataType",
    "Package",
    "PackageError",
    "RevisionError",
    "build_package",
    "build_package_files",
    "build_package_zip",
    "compute_delta",
    "convert_source",
    "delta",
    "resolve_revision",
]
