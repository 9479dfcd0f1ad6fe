"""Source format → metadata format, one test per kind of type (full packages from git's empty
tree), checked against the bytes SDR writes."""

from __future__ import annotations

import io
import zipfile

import pytest

from branching.metadata import EMPTY_TREE, PackageError, build_package_files
from tests.branching.metadata.conftest import D, History, project, xml

CLASS_META = xml("ApexClass", "    <apiVersion>60.0</apiVersion>\n    <status>Active</status>\n")


def full(history: History, files: dict[str, bytes]) -> dict[str, bytes]:
    history.commit({"sfdx-project.json": project(), **files})
    return build_package_files(history.repo, EMPTY_TREE, "main").files


def test_it_copies_apex_code_with_its_meta_file(history: History) -> None:
    files = full(
        history,
        {
            D + "classes/sub/Foo.cls": b"public class Foo {}",
            D + "classes/sub/Foo.cls-meta.xml": CLASS_META,
            D + "triggers/T.trigger": b"trigger T on Account (before insert) {}",
            D + "triggers/T.trigger-meta.xml": xml("ApexTrigger"),
            D + "pages/P.page": b"<apex:page/>",
            D + "pages/P.page-meta.xml": xml("ApexPage"),
            D + "components/C.component": b"<apex:component/>",
            D + "components/C.component-meta.xml": xml("ApexComponent"),
        },
    )
    assert files["classes/Foo.cls"] == b"public class Foo {}"
    assert files["classes/Foo.cls-meta.xml"] == CLASS_META
    assert set(files) == {
        "classes/Foo.cls",
        "classes/Foo.cls-meta.xml",
        "triggers/T.trigger",
        "triggers/T.trigger-meta.xml",
        "pages/P.page",
        "pages/P.page-meta.xml",
        "components/C.component",
        "components/C.component-meta.xml",
        "package.xml",
    }


def test_it_refuses_apex_meta_without_its_source_like_sdr(history: History) -> None:
    # Found on real files (dreamhouse-lwc's PagedResult.cls-meta.xml without PagedResult.cls):
    # the meta XML used to be written as classes/PagedResult.cls; SDR stops with
    # "Expected source files for type 'ApexClass'".
    with pytest.raises(PackageError, match=r"PagedResult\.cls beside its -meta\.xml"):
        full(
            history,
            {
                D + "classes/PagedResult.cls-meta.xml": CLASS_META,
                D + "classes/Foo.cls": b"public class Foo {}",
                D + "classes/Foo.cls-meta.xml": CLASS_META,
            },
        )


def test_it_drops_the_meta_suffix_of_single_file_types(history: History) -> None:
    files = full(
        history,
        {
            D + "tabs/Car__c.tab-meta.xml": xml("CustomTab"),
            D + "layouts/Car__c-Car Layout.layout-meta.xml": xml("Layout"),
            D + "flexipages/Car.flexipage-meta.xml": xml("FlexiPage"),
            D + "permissionsets/Mgr.permissionset-meta.xml": xml("PermissionSet"),
            D + "applications/Fleet.app-meta.xml": xml("CustomApplication"),
            D + "flows/Intake.flow-meta.xml": xml("Flow"),
            D + "customMetadata/Setting.Default.md-meta.xml": xml("CustomMetadata"),
            D + "queues/Q.queue-meta.xml": xml("Queue"),
            D + "groups/G.group-meta.xml": xml("Group"),
            D + "namedCredentials/N.namedCredential-meta.xml": xml("NamedCredential"),
            D + "remoteSiteSettings/R.remoteSite-meta.xml": xml("RemoteSiteSetting"),
            D + "quickActions/Car__c.Inspect.quickAction-meta.xml": xml("QuickAction"),
            D + "customPermissions/CP.customPermission-meta.xml": xml("CustomPermission"),
            D + "platformEventChannels/PE.platformEventChannel-meta.xml": xml("PEC"),
            D + "profiles/Admin.profile-meta.xml": xml("Profile", "    <custom>false</custom>\n"),
        },
    )
    assert {
        "tabs/Car__c.tab",
        "layouts/Car__c-Car Layout.layout",
        "flexipages/Car.flexipage",
        "permissionsets/Mgr.permissionset",
        "applications/Fleet.app",
        "flows/Intake.flow",
        "customMetadata/Setting.Default.md",
        "queues/Q.queue",
        "groups/G.group",
        "namedCredentials/N.namedCredential",
        "remoteSiteSettings/R.remoteSite",
        "quickActions/Car__c.Inspect.quickAction",
        "customPermissions/CP.customPermission",
        "platformEventChannels/PE.platformEventChannel",
        "profiles/Admin.profile",
    } <= set(files)
    assert files["tabs/Car__c.tab"] == xml("CustomTab")


def test_it_copies_lwc_and_aura_bundles_as_folders(history: History) -> None:
    history.commit({".forceignore": b"**/__tests__/**\n"})
    files = full(
        history,
        {
            D + "lwc/tile/tile.js": b"export default class Tile {}",
            D + "lwc/tile/tile.html": b"<template></template>",
            D + "lwc/tile/tile.js-meta.xml": xml("LightningComponentBundle"),
            D + "lwc/tile/utils/format.js": b"export const f = 1;",
            D + "lwc/tile/__tests__/tile.test.js": b"test",
            D + "lwc/.eslintrc.json": b"{}",
            D + "aura/box/box.cmp": b"<aura:component/>",
            D + "aura/box/box.cmp-meta.xml": xml("AuraDefinitionBundle"),
            D + "aura/box/boxController.js": b"({})",
        },
    )
    assert {p for p in files if p.startswith(("lwc/", "aura/"))} == {
        "lwc/tile/tile.js",
        "lwc/tile/tile.html",
        "lwc/tile/tile.js-meta.xml",
        "lwc/tile/utils/format.js",
        "aura/box/box.cmp",
        "aura/box/box.cmp-meta.xml",
        "aura/box/boxController.js",
    }


def test_it_zips_a_static_resource_folder_and_renames_a_single_file(history: History) -> None:
    zip_meta = xml("StaticResource", "    <contentType>application/zip</contentType>\n")
    files = full(
        history,
        {
            D + "staticresources/lib.resource-meta.xml": zip_meta,
            D + "staticresources/lib/js/a.js": b"a",
            D + "staticresources/lib/b.css": b"b",
            D + "staticresources/style.resource-meta.xml": xml("StaticResource"),
            D + "staticresources/style.css": b"body{}",
        },
    )
    with zipfile.ZipFile(io.BytesIO(files["staticresources/lib.resource"])) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {"js/a.js": b"a", "b.css": b"b"}
    assert files["staticresources/lib.resource-meta.xml"] == zip_meta
    assert files["staticresources/style.resource"] == b"body{}"
    assert "staticresources/style.resource-meta.xml" in files


def test_it_refuses_a_resource_folder_that_is_not_an_archive(history: History) -> None:
    history.commit(
        {
            "sfdx-project.json": project(),
            D + "staticresources/lib.resource-meta.xml": xml(
                "StaticResource", "    <contentType>text/css</contentType>\n"
            ),
            D + "staticresources/lib/a.css": b"a",
        }
    )
    with pytest.raises(PackageError, match="application/zip"):
        build_package_files(history.repo, EMPTY_TREE, "main")


def test_it_keeps_folders_of_in_folder_types(history: History) -> None:
    files = full(
        history,
        {
            D + "email/Offers.emailFolder-meta.xml": xml("EmailFolder"),
            D + "email/Offers/Deal.email": b"Hi",
            D + "email/Offers/Deal.email-meta.xml": xml("EmailTemplate"),
            D + "reports/Fleet.reportFolder-meta.xml": xml("ReportFolder"),
            D + "reports/Fleet/All.report-meta.xml": xml("Report"),
            D + "dashboards/Fleet/Main.dashboard-meta.xml": xml("Dashboard"),
            D + "documents/Logos.documentFolder-meta.xml": xml("DocumentFolder"),
            D + "documents/Logos/brand.png": b"\x89PNG",
            D + "documents/Logos/brand.document-meta.xml": xml("Document"),
        },
    )
    assert {
        "email/Offers-meta.xml",
        "email/Offers/Deal.email",
        "email/Offers/Deal.email-meta.xml",
        "reports/Fleet-meta.xml",
        "reports/Fleet/All.report",
        "dashboards/Fleet/Main.dashboard",
        "documents/Logos-meta.xml",
        "documents/Logos/brand.png",
        "documents/Logos/brand.png-meta.xml",
    } <= set(files)


def test_it_copies_experience_bundles(history: History) -> None:
    files = full(
        history,
        {
            D + "experiences/Site1.site-meta.xml": xml("ExperienceBundle"),
            D + "experiences/Site1/routes/home.json": b"{}",
        },
    )
    assert {"experiences/Site1.site-meta.xml", "experiences/Site1/routes/home.json"} <= set(files)


def test_it_copies_a_metadata_format_project_as_it_is(history: History) -> None:
    history.commit(
        {
            "src/package.xml": b"<Package><version>58.0</version></Package>",
            "src/classes/Foo.cls": b"class",
            "src/classes/Foo.cls-meta.xml": CLASS_META,
            "src/objects/Account.object": xml("CustomObject"),
        }
    )
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    assert package.files["classes/Foo.cls"] == b"class"
    assert package.files["objects/Account.object"] == xml("CustomObject")
    assert package.api_version == "58.0"
    assert b"<name>CustomObject</name>" in package.files["package.xml"]
