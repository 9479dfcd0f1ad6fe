"""Each of SDR's adapters and sgd's handlers on real files (tests/fixtures/sfdx/adapters).

The expected full conversion (`expected/`, package.xml included) was written by
`sf project convert source` (source-deploy-retrieve 12.37.2) from the same files; the deltas
follow sfdx-git-delta 6.31 (benchmarks/package_agreement.py --fixture adapters compares them
with both tools).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from branching.metadata import EMPTY_TREE, build_package_files, xmljs
from tests.branching.metadata.conftest import History

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sfdx" / "adapters"
D = "force-app/main/default/"
PROJECT = (
    b'{"packageDirectories": [{"path": "force-app", "default": true}], "sourceApiVersion": "65.0"}'
)


def members_of(manifest: bytes) -> dict[str, set[str]]:
    root = xmljs.parse(manifest)["Package"]
    types = root["types"] if isinstance(root["types"], list) else [root["types"]]
    found: dict[str, set[str]] = {}
    for entry in types:
        names = entry["members"]
        found[entry["name"]] = set(names if isinstance(names, list) else [names])
    return found


def read(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def project(history: History) -> History:
    files: dict[str, bytes | None] = dict(read(FIXTURE / "files"))
    files["sfdx-project.json"] = PROJECT
    files[".forceignore"] = b"**/jsconfig.json\n**/.eslintrc.json\n"
    history.commit(files)
    return history


def test_a_full_package_is_what_sdr_converts(project: History) -> None:
    package = build_package_files(project.repo, EMPTY_TREE, "main")
    expected = read(FIXTURE / "expected")
    manifest = expected.pop("package.xml")
    ours = dict(package.files)
    assert members_of(ours.pop("package.xml")) == members_of(manifest)
    assert sorted(ours) == sorted(expected)
    for path, content in expected.items():
        assert ours[path] == content, path
    assert not package.warnings


def test_a_bot_version_brings_its_bot(project: History) -> None:
    start = project.head.decode() if project.head else ""
    path = f"{D}bots/Coral_Cloud_Agent/v1.botVersion-meta.xml"
    text = (FIXTURE / "files" / path).read_bytes()
    project.commit({path: text.replace(b"Contact ID of the verified", b"Contact Id of the")})
    package = build_package_files(project.repo, start, "main")
    assert package.delta.package == {
        "Bot": {"Coral_Cloud_Agent"},
        "BotVersion": {"Coral_Cloud_Agent.v1"},
    }
    assert sorted(p for p in package.files if p != "package.xml") == ["bots/Coral_Cloud_Agent.bot"]
    assert b"Contact Id of the customer" in package.files["bots/Coral_Cloud_Agent.bot"]


def test_a_workflow_deploys_only_what_changed(project: History) -> None:
    start = project.head.decode() if project.head else ""
    path = f"{D}workflows/Opportunity.workflow-meta.xml"
    text = (FIXTURE / "files" / path).read_bytes()
    project.commit(
        {
            path: text.replace(
                b"<description>Opportunity Email Acknowledgment</description>",
                b"<description>Acknowledge by email</description>",
            )
        }
    )
    package = build_package_files(project.repo, start, "main")
    assert package.delta.package == {
        "Workflow": {"Opportunity"},
        "WorkflowAlert": {"Opportunity.Opportunity_Email_Acknowledgment"},
    }
    body = package.files["workflows/Opportunity.workflow"]
    assert b"<alerts>" in body and b"<fieldUpdates>" not in body and b"<rules>" not in body


def test_a_change_inside_an_experience_site_deploys_the_bundle(project: History) -> None:
    start = project.head.decode() if project.head else ""
    path = f"{D}digitalExperiences/site/ESA_Deployment1/sfdc_cms__view/home/content.json"
    text = (FIXTURE / "files" / path).read_bytes()
    project.commit({path: text.replace(b'"title": "Home"', b'"title": "Welcome"', 1)})
    package = build_package_files(project.repo, start, "main")
    assert package.delta.package == {"DigitalExperienceBundle": {"site/ESA_Deployment1"}}
    site = "digitalExperiences/site/ESA_Deployment1/"
    assert {p for p in package.files if p.startswith(site)} == {
        p for p in read(FIXTURE / "expected") if p.startswith(site)
    }


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (
            "lightningTypes/weatherResponse/schema.json",
            b'"description": "Weather Response"',
            b'"description": "The weather"',
            {"LightningTypeBundle": {"weatherResponse"}},
        ),
        (
            "genAiPlannerBundles/Coral_Cloud_Agent/Coral_Cloud_Agent.genAiPlannerBundle",
            b"as well as book sessions.",
            b"and book sessions.",
            {"GenAiPlannerBundle": {"Coral_Cloud_Agent"}},
        ),
        (
            "genAiFunctions/Check_Weather/input/schema.json",
            b'"title": "dateToCheck"',
            b'"title": "Date to check"',
            {"GenAiFunction": {"Check_Weather"}},
        ),
    ],
)
def test_agent_bundles_deploy_whole(
    project: History, path: str, old: bytes, new: bytes, expected: dict[str, set[str]]
) -> None:
    start = project.head.decode() if project.head else ""
    text = (FIXTURE / "files" / D / path).read_bytes()
    project.commit({D + path: text.replace(old, new, 1)})
    package = build_package_files(project.repo, start, "main")
    assert package.delta.package == expected
    folder = path.split("/")[0] + "/" + path.split("/")[1] + "/"
    assert {p for p in package.files if p.startswith(folder)} == {
        p for p in read(FIXTURE / "expected") if p.startswith(folder)
    }
