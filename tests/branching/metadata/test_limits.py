"""Salesforce's deploy limits, checked before anything is sent."""

from __future__ import annotations

import os

import pytest

from branching.metadata import EMPTY_TREE, PackageError, build_package_zip
from branching.metadata.package import MAX_FILES, MAX_ZIP_BYTES
from tests.branching.metadata.conftest import D, History, project, xml


def classes(count: int) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = {"sfdx-project.json": project()}
    meta = xml("ApexClass", "    <apiVersion>60.0</apiVersion>\n")
    for index in range(count):
        files[f"{D}classes/C{index}.cls"] = b"public class C {}"
        files[f"{D}classes/C{index}.cls-meta.xml"] = meta
    return files


def test_it_refuses_more_than_ten_thousand_files(history: History) -> None:
    assert MAX_FILES == 10_000
    # 5,000 classes are 10,000 files, plus package.xml: one too many.
    history.commit(classes(5_000))
    with pytest.raises(PackageError) as error:
        build_package_zip(history.repo, EMPTY_TREE, "main")
    assert str(error.value).startswith(
        "The package has 10,001 files; Salesforce deploys at most 10,000 files at once."
    )
    assert "Split the promotion" in str(error.value)


def test_it_accepts_ten_thousand_files(history: History) -> None:
    files = classes(4_999)
    files[f"{D}labels/CustomLabels.labels-meta.xml"] = xml("CustomLabels")
    history.commit(files)
    assert build_package_zip(history.repo, EMPTY_TREE, "main")


def test_it_refuses_a_zip_over_39_mb(history: History) -> None:
    assert MAX_ZIP_BYTES == 39 * 1024 * 1024
    # Random bytes do not compress: 40 MB of static resource zips to about 40 MB.
    meta = xml("StaticResource", "    <contentType>application/octet-stream</contentType>\n")
    history.commit(
        {
            "sfdx-project.json": project(),
            f"{D}staticresources/Big.resource-meta.xml": meta,
            f"{D}staticresources/Big.bin": os.urandom(40 * 1024 * 1024),
        }
    )
    with pytest.raises(PackageError) as error:
        build_package_zip(history.repo, EMPTY_TREE, "main")
    assert "The package zips to 40.0 MB; Salesforce deploys at most 39 MB zipped" in str(
        error.value
    )
