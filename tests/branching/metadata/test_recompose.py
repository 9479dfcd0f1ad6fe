"""Decomposed sources recomposed into one metadata file, as SDR's RecompositionFinalizer does:
an object and its children, object translations, the labels of every labels file (full
packages from git's empty tree), checked against the bytes SDR writes."""

from __future__ import annotations

from branching.metadata import EMPTY_TREE, build_package_files
from tests.branching.metadata.conftest import D, History, project, xml
from tests.branching.metadata.test_convert import full

OBJECT = xml(
    "CustomObject",
    "    <label>Car</label>\n    <nameField>\n        <label>Name</label>\n"
    "        <type>Text</type>\n    </nameField>\n    <searchLayouts/>\n",
)


def field(name: str, extra: str = "") -> bytes:
    return xml("CustomField", f"    <fullName>{name}</fullName>\n{extra}")


def test_it_recomposes_a_decomposed_object_like_sdr(history: History) -> None:
    o = D + "objects/Car__c/"
    files = full(
        history,
        {
            o + "Car__c.object-meta.xml": OBJECT,
            o + "fields/Zeta__c.field-meta.xml": field("Zeta__c"),
            o + "fields/alpha__c.field-meta.xml": field(
                "alpha__c", "    <formula>IF(A &gt; 0, &apos;x&apos;, &quot;y&quot;)</formula>\n"
            ),
            o + "fields/A_b__c.field-meta.xml": field("A_b__c"),
            o + "listViews/All.listView-meta.xml": xml(
                "ListView", "    <fullName>All</fullName>\n    <columns>NAME</columns>\n"
            ),
            o + "fieldSets/Fs.fieldSet-meta.xml": xml("FieldSet", "    <fullName>Fs</fullName>\n"),
            o + "recordTypes/Rt.recordType-meta.xml": xml(
                "RecordType", "    <fullName>Rt</fullName>\n"
            ),
        },
    )
    assert files["objects/Car__c.object"] == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        b"    <label>Car</label>\n"
        b"    <nameField>\n        <label>Name</label>\n        <type>Text</type>\n"
        b"    </nameField>\n"
        b"    <searchLayouts></searchLayouts>\n"
        b"    <fieldSets>\n        <fullName>Fs</fullName>\n    </fieldSets>\n"
        b"    <fields>\n        <fullName>A_b__c</fullName>\n    </fields>\n"
        b"    <fields>\n        <fullName>alpha__c</fullName>\n"
        b"        <formula>IF(A &gt; 0, &apos;x&apos;, &quot;y&quot;)</formula>\n    </fields>\n"
        b"    <fields>\n        <fullName>Zeta__c</fullName>\n    </fields>\n"
        b"    <listViews>\n        <fullName>All</fullName>\n        <columns>NAME</columns>\n"
        b"    </listViews>\n"
        b"    <recordTypes>\n        <fullName>Rt</fullName>\n    </recordTypes>\n"
        b"</CustomObject>\n"
    )


def test_it_recomposes_object_translations_and_sorts_labels(history: History) -> None:
    t = D + "objectTranslations/Car__c-fr/"
    labels = xml(
        "CustomLabels",
        "".join(
            f"    <labels>\n        <fullName>{n}</fullName>\n        <value>{n}</value>\n"
            "    </labels>\n"
            for n in ("b_label", "A_label", "a_label")
        ),
    )
    files = full(
        history,
        {
            t + "Car__c-fr.objectTranslation-meta.xml": xml(
                "CustomObjectTranslation", "    <gender>Feminine</gender>\n"
            ),
            t + "Price__c.fieldTranslation-meta.xml": xml(
                "CustomFieldTranslation", "    <label>Prix</label>\n    <name>Price__c</name>\n"
            ),
            D + "labels/CustomLabels.labels-meta.xml": labels,
        },
    )
    assert (
        b"<fields>\n        <label>Prix</label>"
        in files["objectTranslations/Car__c-fr.objectTranslation"]
    )
    order = [line.strip() for line in files["labels/CustomLabels.labels"].decode().splitlines()]
    names = [line for line in order if line.startswith("<fullName>")]
    assert names == [
        "<fullName>a_label</fullName>",
        "<fullName>A_label</fullName>",
        "<fullName>b_label</fullName>",
    ]


def _label(name: str) -> str:
    return (
        f"    <labels>\n        <fullName>{name}</fullName>\n        <language>en_US</language>\n"
        f"        <protected>false</protected>\n"
        f"        <shortDescription>{name}</shortDescription>\n"
        f"        <value>{name.upper()}</value>\n    </labels>\n"
    )


def test_every_labels_file_goes_into_the_one_custom_labels(history: History) -> None:
    # NPSP keeps fflib's labels in a file of their own beside its CustomLabels.labels; for these
    # two files SDR 12.37.2 writes exactly the expected one: every label, in ICU order.
    history.commit(
        {
            "sfdx-project.json": project(),
            f"{D}labels/CustomLabels.labels-meta.xml": xml(
                "CustomLabels", _label("zeta") + _label("alpha")
            ),
            "force-app/infra/labels/fflib-CustomLabels.labels-meta.xml": xml(
                "CustomLabels", _label("fflib_x")
            ),
        }
    )
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    assert package.files["labels/CustomLabels.labels"] == xml(
        "CustomLabels", _label("alpha") + _label("fflib_x") + _label("zeta")
    )


def test_an_object_translation_in_two_folders_keeps_the_first_parent_and_both_children(
    history: History,
) -> None:
    # NPSP's Trigger_Handler__c-fr has a parent file in main/default/ and another, with the
    # field translations, in tdtm/; SDR 12.37.2 keeps main/default's parent and every field.
    first = f"{D}objectTranslations/Trigger_Handler__c-fr/Trigger_Handler__c-fr"
    second = "force-app/tdtm/objectTranslations/Trigger_Handler__c-fr/"
    history.commit(
        {
            "sfdx-project.json": project(),
            f"{first}.objectTranslation-meta.xml": xml(
                "CustomObjectTranslation",
                "    <layouts>\n        <layout>Trigger Handler Layout</layout>\n    </layouts>\n",
            ),
            f"{second}Trigger_Handler__c-fr.objectTranslation-meta.xml": xml(
                "CustomObjectTranslation", "    <gender>Masculine</gender>\n"
            ),
            f"{second}Active__c.fieldTranslation-meta.xml": xml(
                "CustomFieldTranslation", "    <label>Actif</label>\n    <name>Active__c</name>\n"
            ),
        }
    )
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    body = package.files["objectTranslations/Trigger_Handler__c-fr.objectTranslation"]
    assert b"<layout>Trigger Handler Layout</layout>" in body
    assert b"<gender>" not in body
    assert b"<name>Active__c</name>" in body
