"""The fast-xml-parser round trip and ICU ordering the conversion relies on."""

from __future__ import annotations

from branching.metadata import xmljs
from branching.metadata.collation import collated
from branching.metadata.forceignore import ForceIgnore


def test_it_groups_repeated_elements_and_escapes_like_sdr() -> None:
    source = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<A xmlns="x">\n    <b>1</b>\n    <c/>\n'
        b"    <b>it&apos;s &#160;</b>\n    <!-- note -->\n</A>\n"
    )
    assert xmljs.sdr_document(xmljs.parse(source)) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<A xmlns="x">\n    <b>1</b>\n'
        b"    <b>it&apos;s &#160;</b>\n    <c></c><!-- note --></A>\n"
    )


def test_it_passes_text_through_untouched_like_sgd() -> None:
    source = b'<?xml version="1.0" encoding="UTF-8"?>\n<A>\n    <b>it\'s &amp; "q"</b>\n</A>\n'
    assert xmljs.sgd_document(xmljs.parse(source, xmljs.SGD)) == source


def test_it_sorts_names_like_icu() -> None:
    assert collated(["Zip__c", "ab__c", "a_b__c", "Ab__c", "a1"]) == [
        "a_b__c",
        "a1",
        "ab__c",
        "Ab__c",
        "Zip__c",
    ]


def test_it_reads_forceignore_like_the_ignore_package() -> None:
    ignore = ForceIgnore("**/__tests__/**\n*.log\n!keep.log\nforce-app/main/default/profiles/\n")
    assert ignore.ignores("force-app/main/default/lwc/a/__tests__/a.test.js")
    assert ignore.ignores("x/debug.log")
    assert not ignore.ignores("keep.log")
    assert ignore.ignores("force-app/main/default/profiles/Admin.profile-meta.xml")
    assert not ignore.ignores("force-app/main/default/classes/A.cls")
