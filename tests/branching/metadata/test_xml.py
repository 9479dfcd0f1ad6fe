"""The fast-xml-parser round trip and ICU ordering the conversion relies on."""

from __future__ import annotations

from branching.metadata import EMPTY_TREE, build_package_files, xmljs
from branching.metadata.collation import collated
from branching.metadata.forceignore import ForceIgnore
from tests.branching.metadata.conftest import History, project


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


# Trimmed from SalesforceFoundation/NPSP (BSD-3-Clause), force-app/main/default/:
# flexipages/GetStarted.flexipage-meta.xml and
# globalValueSetTranslations/Payment_ACH_Code-iw.globalValueSetTranslation-meta.xml.
NPSP_COMMENTED_REGION = b"""<?xml version="1.0" encoding="UTF-8"?>
<FlexiPage xmlns="http://soap.sforce.com/2006/04/metadata">
    <flexiPageRegions>
        <name>region1</name>
        <type>Region</type>
    </flexiPageRegions>
    <!-- <flexiPageRegions>
        <name>region2</name>
        <type>Region</type>
    </flexiPageRegions> -->
    <masterLabel>Get Started</masterLabel>
    <type>AppPage</type>
</FlexiPage>
"""
NPSP_COMMENTED_TRANSLATION = b"""<?xml version="1.0" encoding="UTF-8"?>
<GlobalValueSetTranslation xmlns="http://soap.sforce.com/2006/04/metadata">
    <valueTranslation>
        <masterLabel>ARC</masterLabel>
        <translation><!-- Accounts Receivable Conversion (ARC) --></translation>
    </valueTranslation>
</GlobalValueSetTranslation>
"""


def test_a_comment_on_one_line_joins_its_neighbours_one_over_several_lines_keeps_its_own() -> None:
    # SDR's correctComments is /\s+<!--(.*?)-->\s+/g: JavaScript's `.` stops at a line end, so
    # only a one-line comment loses the spaces around it. Both outputs are SDR 12.37.2's.
    assert xmljs.sdr_document(xmljs.parse(NPSP_COMMENTED_REGION)) == NPSP_COMMENTED_REGION
    assert xmljs.sdr_document(xmljs.parse(NPSP_COMMENTED_TRANSLATION)) == (
        NPSP_COMMENTED_TRANSLATION
    )
    one_line = NPSP_COMMENTED_REGION.replace(b"\n        <name>region2", b" <name>region2").replace(
        b"\n        <type>Region</type>\n    </flexiPageRegions> -->", b" -->"
    )
    assert b"</flexiPageRegions><!-- <flexiPageRegions> <name>region2</name> --><masterLabel>" in (
        xmljs.sdr_document(xmljs.parse(one_line))
    )


def test_comment_spacing_uses_javascript_s_whitespace_and_line_ends() -> None:
    # \u2028 ends a line in JavaScript (the comment stays put), \u00a0 is a space there.
    doc = {"A": {"b": "1", "#xml__comment": " x\u2028y ", "c": "2"}}
    assert "    <!-- x\u2028y -->\n" in xmljs.sdr_document(doc).decode()
    doc = {"A": {"b": "1\u00a0", "#xml__comment": " x ", "c": "2"}}
    assert "<b>1\u00a0</b><!-- x --><c>" in xmljs.sdr_document(doc).decode()


def test_a_full_package_keeps_an_in_file_type_as_written_a_delta_as_sgd_rewrites_it(
    history: History,
) -> None:
    path = "force-app/main/default/globalValueSetTranslations/Payment_ACH_Code-iw"
    path += ".globalValueSetTranslation-meta.xml"
    first = history.commit({"sfdx-project.json": project(), path: NPSP_COMMENTED_TRANSLATION})
    full = build_package_files(history.repo, EMPTY_TREE, first)
    written = "globalValueSetTranslations/Payment_ACH_Code-iw.globalValueSetTranslation"
    assert full.files[written] == NPSP_COMMENTED_TRANSLATION  # SDR copies the file
    history.commit({path: NPSP_COMMENTED_TRANSLATION.replace(b">ARC<", b">ARC code<")})
    delta = build_package_files(history.repo, first, "main")
    # sgd's pruned copy, which SDR then copies: its builder has no correctComments.
    assert b"<translation>\n            <!-- Accounts Receivable" in delta.files[written]
