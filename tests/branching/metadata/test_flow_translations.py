"""sfdx-git-delta's flow translations: a deployed flow brings the translations that hold it.

tests/fixtures/sfdx/flow-translations (written for these tests) has two flows, a French
translation of both and a German one that gains a translation of the second; its history
changes the flows, alone and together with the French file. `benchmarks/package_agreement.py
--fixture flow-translations` finds sgd 6.31.0 and SDR 12.37.2 agreeing with every member and
file byte of these packages.
"""

from __future__ import annotations

from pathlib import Path

from branching.metadata import EMPTY_TREE, build_package_files
from tests.branching.metadata.conftest import History, replay

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sfdx" / "flow-translations"


def test_a_changed_flow_deploys_the_translations_that_hold_it_with_only_its_definition(
    history: History,
) -> None:
    commits = replay(history, FIXTURE, 1)
    package = build_package_files(history.repo, commits[0], commits[1])
    assert package.delta.package == {"Flow": {"Vehicle_Intake"}, "Translations": {"fr"}}
    assert package.files["translations/fr.translation"] == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Translations xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        b"    <flowDefinitions>\n        <flows>\n            <screens>\n"
        b"                <fields>\n"
        b"                    <fieldText>Kilom\xc3\xa9trage \xc3\xa0 l&apos;arriv\xc3\xa9e"
        b"</fieldText>\n"
        b"                    <name>Mileage</name>\n                </fields>\n"
        b"                <name>Intake_Screen</name>\n            </screens>\n        </flows>\n"
        b"        <fullName>Vehicle_Intake</fullName>\n"
        b"        <label>R\xc3\xa9ception du v\xc3\xa9hicule</label>\n    </flowDefinitions>\n"
        b"</Translations>\n"
    )


def test_a_translation_changed_with_the_flow_keeps_its_own_pruned_copy(history: History) -> None:
    commits = replay(history, FIXTURE, 2)
    package = build_package_files(history.repo, commits[1], commits[2])
    assert package.delta.package == {"Flow": {"Vehicle_Return"}, "Translations": {"fr"}}
    body = package.files["translations/fr.translation"]
    assert b"<label>Bienvenue !</label>" in body  # the label that changed, as sgd prunes it
    assert b"<flowDefinitions>" not in body  # sgd writes a file once: its pruned copy stays


def test_every_translation_of_the_flows_is_deployed(history: History) -> None:
    commits = replay(history, FIXTURE, 3)
    package = build_package_files(history.repo, commits[2], commits[3])
    assert package.delta.package == {
        "Flow": {"Vehicle_Intake", "Vehicle_Return"},
        "Translations": {"de", "fr"},
    }
    french = package.files["translations/fr.translation"]
    assert french.count(b"<flowDefinitions>") == 2
    assert b"<customLabels>" not in french


def test_a_package_without_flows_leaves_translations_alone(history: History) -> None:
    commits = replay(history, FIXTURE, 0)
    history.commit({"sfdx-project.json": b'{"packageDirectories": [{"path": "force-app"}]}'})
    package = build_package_files(history.repo, commits[0], "main")
    assert package.delta.package == {}


def test_a_full_package_takes_the_translations_as_they_are(history: History) -> None:
    replay(history, FIXTURE, 0)
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    assert package.delta.package["Translations"] == {"de", "fr"}
    for language in ("de", "fr"):
        source = FIXTURE / "files/force-app/main/default/translations"
        expected = (source / f"{language}.translation-meta.xml").read_bytes()
        assert package.files[f"translations/{language}.translation"] == expected
