"""One Salesforce API version: the client, deployment packages, the docs and the stand-in org
all say `releasemgr.metadata_api.API_VERSION`; only SOAP login() uses an older one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import requests

from branching.metadata import EMPTY_TREE, build_package_files
from instances import salesforce as sf
from instances.salesforce import login, session
from releasemgr.metadata_api import API_VERSION
from tests.branching.metadata.conftest import History
from tests.branching.metadata.test_convert import CLASS_META
from tests.salesforce_standin.connections import jwt_connection, password_connection
from tests.salesforce_standin.packages import make_package

pytest_plugins = ["tests.salesforce_standin.plugin"]

ROOT = Path(__file__).resolve().parents[1]
# A version as a value ("62.0") or in an endpoint (".../v62.0/...", ".../Soap/m/62.0").
VERSION = re.compile(r"^\d{2}\.0$|services/(data/v|Soap/[um]/)\d")

# The only versions the product's code may spell out, each for a reason of its own.
ALLOWED = {
    ("releasemgr/metadata_api.py", "API_VERSION"),
    ("instances/salesforce/login.py", "SOAP_LOGIN_LAST_VERSION"),
    ("instances/salesforce/session.py", "SOAP_JWT_TOKENS_FROM"),
}
# The demo's Salesforce project is a customer's, with its own sourceApiVersion.
NOT_THE_PRODUCT_S = "instances/management/demo/"
# The simulated org speaks for Salesforce, not for the product's client: it serves the
# versions an org serves, up to its latest (the stand-in's knobs).
SALESFORCE_S = "instances/salesforce/simulation/"


def spelled_versions(path: Path) -> list[str]:
    """For each version literal in a module, the name it is assigned to ("" when it is not
    the whole value of a plain assignment)."""
    found = []
    assigned = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
            continue
        value = node.value.value
        if isinstance(value, str) and VERSION.search(value):
            found.extend(t.id if isinstance(t, ast.Name) else "" for t in node.targets)
            assigned.add(id(node.value))
    found.extend(
        ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and VERSION.search(node.value)
        and id(node) not in assigned
    )
    return found


def test_the_client_speaks_the_one_version():
    assert sf.API_VERSION == session.API_VERSION == API_VERSION
    assert sf.SOAP_LOGIN_LAST_VERSION == login.SOAP_LOGIN_LAST_VERSION
    assert session.version_tuple(sf.SOAP_LOGIN_LAST_VERSION) < session.version_tuple(API_VERSION)


def test_the_code_spells_no_other_version():
    spelled = set()
    for top in ("branching", "instances", "releasemgr", "client"):
        for path in (ROOT / top).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if "/migrations/" in name or name.startswith((NOT_THE_PRODUCT_S, SALESFORCE_S)):
                continue
            spelled.update((name, constant) for constant in spelled_versions(path))
    for path in (ROOT / "templates").rglob("*.html"):
        if re.search(r"\b\d{2}\.0\b", path.read_text()):
            spelled.add((path.relative_to(ROOT).as_posix(), ""))

    assert spelled == ALLOWED


def test_a_package_without_a_source_api_version_says_the_one_version(tmp_path):
    history = History(tmp_path / "repo.git")
    history.commit(
        {
            "sfdx-project.json": b'{"packageDirectories": [{"path": "force-app"}]}',
            "force-app/main/default/classes/A.cls": b"public class A {}\n",
            "force-app/main/default/classes/A.cls-meta.xml": CLASS_META,
        }
    )

    package = build_package_files(history.repo, EMPTY_TREE, "main")

    assert package.api_version == API_VERSION
    assert f"<version>{API_VERSION}</version>".encode() in package.files["package.xml"]


def test_the_docs_say_the_one_version():
    salesforce_md = (ROOT / "docs" / "salesforce.md").read_text()
    packages_md = (ROOT / "docs" / "packages.md").read_text()

    (row,) = re.findall(
        r"\| API version \| (\d+\.0) \(SOAP login at (\d+\.0) at most\)", salesforce_md
    )
    assert row == (API_VERSION, sf.SOAP_LOGIN_LAST_VERSION)
    section = salesforce_md.split("## API version\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"\b\d{2}\.0\b", section) == [API_VERSION]
    assert re.findall(r"`sourceApiVersion` \((\d+\.0), `API_VERSION`", packages_md) == [API_VERSION]
    assert re.findall(r"`min\(api_version, (\d+\.0)\)`", salesforce_md) == [
        sf.SOAP_LOGIN_LAST_VERSION
    ]


def test_the_stand_in_org_lists_the_version_and_the_client_calls_at_it(salesforce):
    listed = requests.get(f"{salesforce.url}/services/data/", verify=salesforce.ca_path, timeout=10)
    versions = [v["version"] for v in listed.json()]
    assert API_VERSION in versions and sf.SOAP_LOGIN_LAST_VERSION in versions

    org = sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    sf.org_facts(org)
    deployment = sf.start_deploy(
        org, make_package(), check_only=False, test_level=sf.TestLevel.NO_TEST_RUN
    )
    sf.deploy_status(org, deployment)

    paths = {c.operation: c.path.partition("?")[0].rstrip("/") for c in salesforce.requests}
    assert paths == {
        "versions": "/services/data",
        "login": f"/services/Soap/u/{sf.SOAP_LOGIN_LAST_VERSION}",
        "query": f"/services/data/v{API_VERSION}/query",
        "limits": f"/services/data/v{API_VERSION}/limits",
        "deploy": f"/services/Soap/m/{API_VERSION}",
        "checkDeployStatus": f"/services/Soap/m/{API_VERSION}",
    }
    assert len(salesforce.deployments) == 1  # the org took the package at that version


@pytest.mark.parametrize("kind", ["rest", "soap"])
def test_an_org_without_the_version_refuses_it_as_salesforce_does(salesforce, kind):
    salesforce.knobs.latest_api_version = sf.SOAP_LOGIN_LAST_VERSION  # an org a release behind
    org = sf.connect(jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)

    with pytest.raises(sf.SalesforceError) as refused:
        if kind == "rest":
            sf.org_facts(org)
        else:
            sf.start_deploy(
                org, make_package(), check_only=False, test_level=sf.TestLevel.NO_TEST_RUN
            )

    message = str(refused.value)
    assert message.count("UNSUPPORTED_API_VERSION") <= 1 and message.count("NOT_FOUND") <= 1
    if kind == "soap":
        assert "UNSUPPORTED_API_VERSION" in message and "Invalid Api version" in message
    else:
        assert "NOT_FOUND: The requested resource does not exist" in message
