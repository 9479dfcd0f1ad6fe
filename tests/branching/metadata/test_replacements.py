"""`replacements` in sfdx-project.json, applied while converting, as SDR applies them."""

from __future__ import annotations

import json

import pytest

from branching.metadata import EMPTY_TREE, PackageError, build_package_files
from tests.branching.metadata.conftest import D, History, xml

CLASS = f"{D}classes/Callout.cls"
FLOW = f"{D}flows/Route.flow-meta.xml"


def project(replacements: list[dict]) -> bytes:
    return json.dumps(
        {
            "packageDirectories": [{"path": "force-app", "default": True}],
            "sourceApiVersion": "60.0",
            "replacements": replacements,
        }
    ).encode()


def commit(history: History, replacements: list[dict], extra: dict | None = None) -> None:
    history.commit(
        {
            "sfdx-project.json": project(replacements),
            CLASS: b"String url = '%%HOST%%/api'; // %%HOST%%\n",
            CLASS + "-meta.xml": xml("ApexClass", "    <apiVersion>60.0</apiVersion>\n"),
            FLOW: xml("Flow", "    <label>Queue v12 and v3</label>\n"),
            **(extra or {}),
        }
    )


def test_it_replaces_a_string_with_an_environment_variable(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_HOST", "https://api.example.com")
    commit(
        history,
        [
            {
                "filename": "classes/Callout.cls",
                "stringToReplace": "%%HOST%%",
                "replaceWithEnv": "SF_HOST",
            }
        ],
    )
    files = build_package_files(history.repo, EMPTY_TREE, "main").files
    assert files["classes/Callout.cls"] == (
        b"String url = 'https://api.example.com/api'; // https://api.example.com\n"
    )


def test_it_replaces_a_regex_with_a_file_in_globbed_files(history: History) -> None:
    commit(
        history,
        [
            {
                "glob": "force-app/**/flows/*.xml",
                "regexToReplace": "v(\\d+)",
                "replaceWithFile": "config/version.txt",
            }
        ],
        {"config/version.txt": b"  <$1>  \n"},
    )
    files = build_package_files(history.repo, EMPTY_TREE, "main").files
    assert b"<label>Queue <12> and <3></label>" in files["flows/Route.flow"]
    assert files["classes/Callout.cls"].startswith(b"String url = '%%HOST%%")


def test_replace_when_env_limits_an_entry_to_matching_builds(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_HOST", "prod.example.com")
    monkeypatch.setenv("TARGET", "uat")
    entry = {
        "filename": "classes/Callout.cls",
        "stringToReplace": "%%HOST%%",
        "replaceWithEnv": "SF_HOST",
        "replaceWhenEnv": [{"env": "TARGET", "value": "prod"}],
    }
    commit(history, [entry])
    files = build_package_files(history.repo, EMPTY_TREE, "main").files
    assert b"%%HOST%%" in files["classes/Callout.cls"]
    monkeypatch.setenv("TARGET", "prod")
    files = build_package_files(history.repo, EMPTY_TREE, "main").files
    assert b"prod.example.com/api" in files["classes/Callout.cls"]


def test_an_unset_environment_variable_stops_the_build_naming_it(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SF_CC_PLACEHOLDER_DOMAIN", raising=False)
    commit(
        history,
        [
            {
                "filename": "classes/Callout.cls",
                "stringToReplace": "%%HOST%%",
                "replaceWithEnv": "SF_CC_PLACEHOLDER_DOMAIN",
            }
        ],
    )
    with pytest.raises(PackageError) as error:
        build_package_files(history.repo, EMPTY_TREE, "main")
    assert "“SF_CC_PLACEHOLDER_DOMAIN” is in sfdx-project.json" in str(error.value)
    assert "not set in the environment" in str(error.value)


def test_an_unset_variable_is_empty_when_the_entry_allows_it(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SF_HOST", raising=False)
    commit(
        history,
        [
            {
                "filename": "classes/Callout.cls",
                "stringToReplace": "%%HOST%%",
                "replaceWithEnv": "SF_HOST",
                "allowUnsetEnvVariable": True,
            }
        ],
    )
    files = build_package_files(history.repo, EMPTY_TREE, "main").files
    assert files["classes/Callout.cls"] == b"String url = '/api'; // \n"


def test_a_backtracking_regex_is_refused_with_a_message(history: History) -> None:
    commit(
        history,
        [{"filename": "classes/Callout.cls", "regexToReplace": "(a)\\1", "replaceWithFile": "x"}],
        {"x": b"y"},
    )
    with pytest.raises(PackageError, match="back-references are not supported"):
        build_package_files(history.repo, EMPTY_TREE, "main")
