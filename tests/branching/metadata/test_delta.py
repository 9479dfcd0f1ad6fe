"""Deltas between two commits, the way sfdx-git-delta reads them."""

from __future__ import annotations

import io
import zipfile

from branching.metadata import EMPTY_TREE, build_package_files, build_package_zip, delta
from tests.branching.metadata.conftest import D, History, project, xml

OBJ = D + "objects/Car__c/"
CLASS_META = xml("ApexClass", "    <apiVersion>60.0</apiVersion>\n")
LOOKUP = xml("CustomField", "    <fullName>Owner__c</fullName>\n    <type>Lookup</type>\n")
MASTER = xml("CustomField", "    <fullName>Fleet__c</fullName>\n    <type>MasterDetail</type>\n")
OBJECT = xml("CustomObject", "    <label>Car</label>\n")


def base(history: History, extra: dict[str, bytes | None] | None = None) -> str:
    return history.commit(
        {
            "sfdx-project.json": project(),
            D + "classes/Foo.cls": b"class Foo {}",
            D + "classes/Foo.cls-meta.xml": CLASS_META,
            OBJ + "Car__c.object-meta.xml": OBJECT,
            OBJ + "fields/Owner__c.field-meta.xml": LOOKUP,
            OBJ + "fields/Fleet__c.field-meta.xml": MASTER,
            OBJ + "recordTypes/Van.recordType-meta.xml": xml("RecordType"),
            D + "lwc/tile/tile.js": b"js",
            D + "lwc/tile/tile.html": b"<template></template>",
            D + "lwc/tile/tile.js-meta.xml": xml("LightningComponentBundle"),
            **(extra or {}),
        }
    )


def test_it_packages_a_changed_field_inside_its_object(history: History) -> None:
    start = base(history)
    history.commit({OBJ + "fields/Owner__c.field-meta.xml": LOOKUP.replace(b"Lookup", b"Text")})
    package = build_package_files(history.repo, start, "main")
    assert package.delta.package == {"CustomField": {"Car__c.Owner__c"}}
    assert package.files["objects/Car__c.object"] == xml(
        "CustomObject",
        "    <fields>\n        <fullName>Owner__c</fullName>\n        <type>Text</type>\n"
        "    </fields>\n",
    )
    assert "destructiveChanges.xml" not in package.files


def test_it_brings_the_object_along_with_a_master_detail_field(history: History) -> None:
    start = base(history)
    history.commit(
        {OBJ + "fields/Fleet__c.field-meta.xml": MASTER.replace(b"<type>", b"<x/><type>")}
    )
    body = build_package_files(history.repo, start, "main").files["objects/Car__c.object"]
    assert b"<label>Car</label>" in body and b"<fullName>Fleet__c</fullName>" in body


def test_it_deploys_the_whole_bundle_when_one_file_changes_or_goes(history: History) -> None:
    start = base(history)
    history.commit({D + "lwc/tile/tile.html": None})
    package = build_package_files(history.repo, start, "main")
    assert package.delta.package == {"LightningComponentBundle": {"tile"}}
    assert package.delta.destructive == {}
    assert {"lwc/tile/tile.js", "lwc/tile/tile.js-meta.xml"} <= set(package.files)


def test_it_lists_deleted_components_as_destructive_changes(history: History) -> None:
    start = base(history)
    history.commit(
        {
            D + "classes/Foo.cls": None,
            D + "classes/Foo.cls-meta.xml": None,
            OBJ + "recordTypes/Van.recordType-meta.xml": None,
        }
    )
    package = build_package_files(history.repo, start, "main")
    assert package.delta.destructive == {"ApexClass": {"Foo"}}  # record types never
    assert package.files["destructiveChanges.xml"] == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        b"    <types>\n        <members>Foo</members>\n        <name>ApexClass</name>\n"
        b"    </types>\n    <version>60.0</version>\n</Package>\n"
    )
    assert package.files["package.xml"] == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        b"    <version>60.0</version>\n</Package>\n"
    )


def test_it_treats_a_rename_as_a_delete_and_an_add(history: History) -> None:
    start = base(history)
    history.commit(
        {
            D + "classes/Foo.cls": None,
            D + "classes/Foo.cls-meta.xml": None,
            D + "classes/Bar.cls": b"class Bar {}",
            D + "classes/Bar.cls-meta.xml": CLASS_META,
        }
    )
    found = delta(history.repo, start, "main")
    assert found.package == {"ApexClass": {"Bar"}}
    assert found.destructive == {"ApexClass": {"Foo"}}


def test_it_does_not_delete_what_moved_between_package_directories(history: History) -> None:
    start = base(history, {"sfdx-project.json": project(dirs=("force-app", "extra"))})
    history.commit(
        {
            D + "classes/Foo.cls": None,
            D + "classes/Foo.cls-meta.xml": None,
            "extra/classes/Foo.cls": b"class Foo {}",
            "extra/classes/Foo.cls-meta.xml": CLASS_META,
        }
    )
    found = delta(history.repo, start, "main")
    assert found.package == {"ApexClass": {"Foo"}}
    assert found.destructive == {}


def test_it_ignores_files_outside_package_directories_and_forceignored(history: History) -> None:
    start = base(history)
    history.commit(
        {
            "scripts/classes/Tool.cls": b"class Tool {}",
            "scripts/classes/Tool.cls-meta.xml": CLASS_META,
            ".forceignore": b"**/lwc/**\n",
            D + "lwc/tile/tile.js": b"changed",
            D + "classes/Foo.cls": b"class Foo { }",
        }
    )
    found = delta(history.repo, start, "main")
    assert found.package == {"ApexClass": {"Foo"}}


def test_it_deploys_only_changed_labels(history: History) -> None:
    def labels(*pairs: tuple[str, str]) -> bytes:
        body = "".join(
            f"    <labels>\n        <fullName>{n}</fullName>\n        <value>{v}</value>\n"
            "    </labels>\n"
            for n, v in pairs
        )
        return xml("CustomLabels", body)

    path = D + "labels/CustomLabels.labels-meta.xml"
    start = base(history, {path: labels(("a", "A"), ("b", "B"), ("c", "C"))})
    history.commit({path: labels(("a", "A!"), ("b", "B"), ("d", "D"))})
    package = build_package_files(history.repo, start, "main")
    assert package.delta.package == {"CustomLabel": {"a", "d"}}
    assert package.delta.destructive == {"CustomLabel": {"c"}}
    body = package.files["labels/CustomLabels.labels"]
    assert b"<fullName>a</fullName>" in body and b"<fullName>b</fullName>" not in body


def test_it_deploys_a_pruned_profile(history: History) -> None:
    def profile(read: str) -> bytes:
        return xml(
            "Profile",
            "    <classAccesses>\n        <apexClass>Foo</apexClass>\n"
            "        <enabled>true</enabled>\n    </classAccesses>\n"
            "    <fieldPermissions>\n        <editable>false</editable>\n"
            f"        <field>Car__c.Owner__c</field>\n        <readable>{read}</readable>\n"
            "    </fieldPermissions>\n    <custom>true</custom>\n",
        )

    path = D + "profiles/Sales.profile-meta.xml"
    start = base(history, {path: profile("false")})
    history.commit({path: profile("true")})
    package = build_package_files(history.repo, start, "main")
    assert package.delta.package == {"Profile": {"Sales"}}
    body = package.files["profiles/Sales.profile"]
    assert b"<readable>true</readable>" in body
    assert b"classAccesses" not in body and b"<custom>true</custom>" in body


def test_it_warns_that_flows_are_deleted_only_when_inactive(history: History) -> None:
    start = base(history, {D + "flows/F.flow-meta.xml": xml("Flow")})
    history.commit({D + "flows/F.flow-meta.xml": None})
    package = build_package_files(history.repo, start, "main")
    assert package.delta.destructive == {"Flow": {"F"}}
    assert any("Flow F" in warning for warning in package.warnings)


def test_it_sorts_package_xml_like_sgd(history: History) -> None:
    history.commit(
        {
            "sfdx-project.json": project(),
            OBJ + "Car__c.object-meta.xml": OBJECT,
            OBJ + "fields/Zip__c.field-meta.xml": xml("CustomField"),
            OBJ + "fields/a_b__c.field-meta.xml": xml("CustomField"),
            OBJ + "fields/ab__c.field-meta.xml": xml("CustomField"),
            D + "classes/Foo.cls": b"",
            D + "classes/Foo.cls-meta.xml": CLASS_META,
        }
    )
    manifest = build_package_files(history.repo, EMPTY_TREE, "main").files["package.xml"].decode()
    assert (
        manifest.index("CustomObject")
        < manifest.index("ApexClass")
        < manifest.index("<name>CustomField")
    )
    assert manifest.index("Car__c.a_b__c") < manifest.index("Car__c.ab__c")
    assert manifest.index("Car__c.ab__c") < manifest.index("Car__c.Zip__c")


def test_it_zips_the_package_with_package_xml_at_the_root(history: History) -> None:
    start = base(history)
    history.commit({D + "classes/Foo.cls": None, D + "classes/Foo.cls-meta.xml": None})
    with zipfile.ZipFile(io.BytesIO(build_package_zip(history.repo, start, "main"))) as archive:
        assert archive.namelist() == ["package.xml", "destructiveChanges.xml"]


def test_it_accepts_short_ids_and_the_empty_tree(history: History) -> None:
    start = base(history)
    found = delta(history.repo, EMPTY_TREE, start[:10])
    assert found.package["ApexClass"] == {"Foo"}
    assert delta(history.repo, start, start).empty
