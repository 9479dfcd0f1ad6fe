"""SDR's opt-in decomposed layouts (sourceBehaviorOptions), on real files decomposed by SDR.

tests/fixtures/sfdx/decomposed holds dreamhouse-lwc's permission set
(decomposePermissionSetBeta2), an NPSP workflow (decomposeWorkflowBeta), ebikes-lwc's guest
sharing rules (decomposeSharingRulesBeta) and apex-recipes' labels
(decomposeCustomLabelsBeta2), each
decomposed by source-deploy-retrieve 12.37.2 itself; `expected/` is SDR's conversion back to
metadata format.
"""

from __future__ import annotations

import json
from pathlib import Path

from branching.metadata import EMPTY_TREE, build_package_files
from tests.branching.metadata.conftest import History
from tests.branching.metadata.test_adapters import members_of, read

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sfdx" / "decomposed"
D = "force-app/main/default/"


def commit_fixture(history: History) -> str:
    spec = json.loads((FIXTURE / "history.json").read_text())
    files: dict[str, bytes | None] = dict(read(FIXTURE / "files"))
    for operation in spec["commits"][0]["operations"]:
        if operation["op"] == "write":
            files[operation["path"]] = operation["content"].encode()
    return history.commit(files)


def test_each_decomposed_layout_converts_as_sdr_recomposes_it(history: History) -> None:
    commit_fixture(history)
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    expected = read(FIXTURE / "expected")
    expected.pop("package.xml")
    ours = {path: body for path, body in package.files.items() if path != "package.xml"}
    assert sorted(ours) == sorted(expected)
    for path, content in expected.items():
        assert ours[path] == content, path


def test_a_change_in_a_decomposed_permission_set_deploys_all_of_it(history: History) -> None:
    start = commit_fixture(history)
    path = f"{D}permissionsets/dreamhouse/objectSettings/Broker__c.objectSettings-meta.xml"
    text = (FIXTURE / "files" / path).read_bytes()
    history.commit(
        {path: text.replace(b"<editable>true</editable>", b"<editable>false</editable>", 1)}
    )
    package = build_package_files(history.repo, start, "main")
    assert package.delta.package == {"PermissionSet": {"dreamhouse"}}
    body = package.files["permissionsets/dreamhouse.permissionset"]
    assert body.count(b"<fieldPermissions>") == 33  # every file of the folder, not just one
    assert b"<label>dreamhouse</label>" in body


def test_decomposed_children_are_members_with_their_parent(history: History) -> None:
    start = commit_fixture(history)
    rule = f"{D}workflows/Opportunity/workflowRules/Opportunity Copy FMV to Amount.workflowRule"
    rule += "-meta.xml"
    label = f"{D}labels/Github_username.label-meta.xml"
    text = (FIXTURE / "files" / rule).read_bytes()
    history.commit(
        {rule: text.replace(b"<active>false</active>", b"<active>true</active>"), label: None}
    )
    package = build_package_files(history.repo, start, "main")
    assert package.delta.package["WorkflowRule"] == {"Opportunity.Opportunity Copy FMV to Amount"}
    assert package.delta.destructive == {"CustomLabel": {"Github_username"}}
    assert "workflows/Opportunity.workflow" in package.files
    assert members_of(package.files["package.xml"])["WorkflowRule"] == {
        "Opportunity.Opportunity Copy FMV to Amount"
    }
