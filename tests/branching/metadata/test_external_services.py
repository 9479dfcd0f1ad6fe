"""SDR's decomposed external service registrations (decomposeExternalServiceRegistrationBeta).

tests/fixtures/sfdx/external-services holds the two registrations of source-deploy-retrieve's
own test project (test/snapshot/sampleProjects/preset-decomposedESR, Apache-2.0), one with a
YAML schema and one whose schema is JSON, in SDR's decomposed layout; its history edits them
(the JSON one gains responses with numbers, booleans, a date and block text). `expected/` is
what source-deploy-retrieve 12.37.2 converts the fourth commit to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from branching.metadata import EMPTY_TREE, PackageError, build_package_files, yamljs
from tests.branching.metadata.conftest import History, replay
from tests.branching.metadata.test_adapters import read

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sfdx" / "external-services"
ESR = "force-app/main/default/externalServiceRegistrations/"
OUT = "externalServiceRegistrations/"


def test_registrations_convert_as_sdr_recomposes_them(history: History) -> None:
    replay(history, FIXTURE, 3)
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    expected = read(FIXTURE / "expected")
    assert sorted(package.files) == sorted(expected)
    for path, content in expected.items():
        assert package.files[path] == content, path
    assert package.delta.package == {
        "ExternalServiceRegistration": {"OpenAPIChallenge", "OpenAPIChallengeJson"}
    }


def test_a_yaml_schema_goes_back_as_it_is_and_a_json_one_as_json(history: History) -> None:
    replay(history, FIXTURE, 3)
    files = build_package_files(history.repo, EMPTY_TREE, "main").files
    as_yaml = files[f"{OUT}OpenAPIChallenge.externalServiceRegistration"].decode()
    assert "<schema>openapi: 3.0.0\ninfo:\n  title: OpenAPIChallenge\n" in as_yaml
    assert as_yaml.index("<systemVersion>") < as_yaml.index("<schema>")
    as_json = files[f"{OUT}OpenAPIChallengeJson.externalServiceRegistration"].decode()
    assert "<schema>{\n  &quot;openapi&quot;: &quot;3.0.0&quot;,\n" in as_json
    assert "&quot;example&quot;: 1e-7" in as_json  # 0.0000001, as JavaScript writes it
    assert "&quot;default&quot;: &quot;yes&quot;" in as_json  # a string in YAML 1.2


def test_a_change_to_the_schema_alone_deploys_the_registration(history: History) -> None:
    commits = replay(history, FIXTURE, 1)
    package = build_package_files(history.repo, commits[0], commits[1])
    # sfdx-git-delta knows only the -meta.xml, so it packages nothing here.
    assert package.delta.package == {"ExternalServiceRegistration": {"OpenAPIChallenge"}}
    assert package.delta.files == {
        f"{ESR}OpenAPIChallenge.externalServiceRegistration-meta.xml",
        f"{ESR}OpenAPIChallenge.yaml",
    }
    body = package.files[f"{OUT}OpenAPIChallenge.externalServiceRegistration"]
    assert b"description: Accounts, cases and contacts over OpenAPI" in body


def test_a_change_to_the_registration_brings_its_schema(history: History) -> None:
    commits = replay(history, FIXTURE, 2)
    package = build_package_files(history.repo, commits[1], commits[2])
    assert package.delta.package == {"ExternalServiceRegistration": {"OpenAPIChallengeJson"}}
    body = package.files[f"{OUT}OpenAPIChallengeJson.externalServiceRegistration"]
    assert b"<label>Bank Service (JSON)</label>" in body
    assert b"&quot;operationId&quot;: &quot;getActiveCases&quot;" in body


def test_a_removed_registration_is_deleted_once(history: History) -> None:
    commits = replay(history, FIXTURE, 4)
    package = build_package_files(history.repo, commits[3], commits[4])
    assert package.delta.package == {}
    assert package.delta.destructive == {"ExternalServiceRegistration": {"OpenAPIChallenge"}}


def test_a_registration_without_its_schema_stops_with_the_file_it_needs(history: History) -> None:
    commits = replay(history, FIXTURE, 0)
    history.commit({f"{ESR}OpenAPIChallenge.yaml": None})
    with pytest.raises(PackageError) as error:
        build_package_files(history.repo, commits[0], "main")
    assert "OpenAPIChallenge has no schema file OpenAPIChallenge.yaml" in str(error.value)


def test_without_the_option_the_registration_is_one_file(history: History) -> None:
    replay(history, FIXTURE, 0)
    spec = json.loads((FIXTURE / "history.json").read_text())
    settings = json.loads(spec["commits"][0]["operations"][1]["content"])
    del settings["sourceBehaviorOptions"]
    history.commit({"sfdx-project.json": json.dumps(settings).encode()})
    package = build_package_files(history.repo, EMPTY_TREE, "main")
    body = package.files[f"{OUT}OpenAPIChallenge.externalServiceRegistration"]
    assert b"<schema>" not in body  # the -meta.xml as it is: SDR's default layout
    assert package.delta.files == {
        f"{ESR}OpenAPIChallenge.externalServiceRegistration-meta.xml",
        f"{ESR}OpenAPIChallengeJson.externalServiceRegistration-meta.xml",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # YAML 1.2 core schema, as the `yaml` package resolves it (not PyYAML's YAML 1.1)
        ("a: 010", '{\n  "a": 10\n}'),
        (
            "a: [0o17, 0x1F, +7, -0, 1.50, 1e6, 5.]",
            '{\n  "a": [\n    15,\n    31,\n    7,\n    0,\n    1.5,\n    1000000,\n    5\n  ]\n}',
        ),
        (
            "a: [yes, on, 2024-01-31, 1:20, 0b1]",
            '{\n  "a": [\n    "yes",\n    "on",\n    "2024-01-31",\n    "1:20",\n    "0b1"\n  ]\n}',
        ),
        (
            "a: [~, null, true, False, .inf, .nan]",
            '{\n  "a": [\n    null,\n    null,\n    true,\n    false,\n    null,\n    null\n  ]\n}',
        ),
        (
            "a: [0.0000001, 0.000001, 1e21, 123456789012345678901, 12345678901234567890]",
            '{\n  "a": [\n    1e-7,\n    0.000001,\n    1e+21,\n    123456789012345680000,\n'
            "    12345678901234567000\n  ]\n}",
        ),
        # JavaScript objects list integer-like keys first
        (
            "default: a\n'404': b\n200: c\n-1: d\n01: e",
            '{\n  "1": "e",\n  "200": "c",\n  "404": "b",\n  "default": "a",\n  "-1": "d"\n}',
        ),
        ("<<: {a: 1}\nb: []", '{\n  "<<": {\n    "a": 1\n  },\n  "b": []\n}'),
        ('a: "l\'été \\u0001 \\"q\\""', '{\n  "a": "l\'été \\u0001 \\"q\\""\n}'),
        ("", "null"),
    ],
)
def test_yaml_reads_as_javascript_s_yaml_and_json_stringify_write_it(
    text: str, expected: str
) -> None:
    # Each expected answer is what Node's JSON.stringify(yaml.parse(text), undefined, 2) gave.
    assert yamljs.to_json(text) == expected


def test_a_key_given_twice_is_refused_as_yaml_refuses_it() -> None:
    with pytest.raises(yamljs.YamlError, match="unique"):
        yamljs.to_json("1: a\n01: b")
    assert yamljs.to_json("1: a\n'1': b") == '{\n  "1": "b"\n}'
