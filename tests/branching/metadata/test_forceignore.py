"""`.forceignore` matched as the `ignore` npm package matches it.

benchmarks/forceignore_agreement.py compares these and thousands more answers with the
package itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from branching.metadata.forceignore import SDR_DEFAULTS, ForceIgnore, compile_rule

ROOT = Path(__file__).resolve().parents[3]

# (patterns, path, ignored): each answer is the one `ignore` 7.0 gives.
CASES = [
    ("*.js", "x/A.JS", True),  # case-insensitive: the package's ignorecase default
    ("foo/", "foo", False),  # a folder pattern never matches a file
    ("foo/", "x/foo/bar", True),
    ("/a/*", "a/b/c", True),
    ("/a/*", "x/a/b", False),
    ("a/**", "a", False),  # everything inside, not the folder itself
    ("a/**", "a/b/c", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("abc/**/", "abc/d", False),
    ("abc/**/", "abc/x/y", True),
    ("**/foo", "x/y/foo", True),
    ("**", "anything/at/all", True),
    ("a**b", "a/x/b", False),  # not beside a slash: a plain `*`
    ("***/b", "a/x/b", True),
    ("a?c", "abc", True),
    ("a\\?c", "abc", False),
    ("\\*", "a", False),
    ("\\#x", "#x", True),
    ("#x", "#x", False),  # a comment
    ("a  ", "a", True),  # trailing spaces are trimmed
    ("a\\ ", "a ", True),  # unless escaped
    ("[!a]b", "xb", True),
    ("[]a]", "]", True),
    ("[/]", "/", False),
    ("[[:alpha:]]x", "Ax", True),
    ("[z-a]", "z", True),  # a reversed range keeps its first character
    ("[z-a]", "y", False),
    ("[abc", "[abc", False),  # unterminated: matches nothing
    ("a\\/b", "a/b", True),
    ("abc/\n!abc/d", "abc/d", True),  # no re-including inside an ignored folder
    ("abc/*\n!abc/d", "abc/d", False),
    ("*.log\n!keep.log", "x/keep.log", False),
    ("a.(b)", "a.(b)", True),
    ("a|b", "a", False),
]


@pytest.mark.parametrize(("patterns", "path", "ignored"), CASES)
def test_it_answers_like_the_ignore_package(patterns: str, path: str, ignored: bool) -> None:
    assert ForceIgnore(patterns).ignores(path) is ignored


def test_it_lists_patterns_that_do_not_mean_what_they_say() -> None:
    ignore = ForceIgnore("**/jsconfig.json\n[z-a]\n[abc\n[[:word:]]\nfoo\\/\nbar\\\n")
    assert [p.split(":")[0] for p in ignore.problems] == [
        ".forceignore line 2",
        ".forceignore line 3",
        ".forceignore line 4",
        ".forceignore line 5",
        ".forceignore line 6",
    ]
    assert "range z-a is reversed" in ignore.problems[0]
    assert ignore.ignores("force-app/jsconfig.json")


def test_it_has_no_problem_with_real_project_files() -> None:
    text = "**/jsconfig.json\n**/.eslintrc.json\n**/__tests__/**\n**/*.dup\npackage.xml\n"
    assert ForceIgnore(text, defaults=SDR_DEFAULTS).problems == []


def test_sdr_defaults_drop_hidden_and_duplicate_files() -> None:
    ignore = ForceIgnore("", defaults=SDR_DEFAULTS)
    assert ignore.ignores("force-app/lwc/a/.eslintrc.json")
    assert ignore.ignores("force-app/lwc/a/a.js.dup")
    assert not ignore.ignores("force-app/lwc/a/a.js")


def test_it_translates_hostile_patterns_to_a_matcher_that_does_not_backtrack() -> None:
    # A backtracking engine needs hours for this path; ours scans it once. Run in a
    # subprocess so that a regression fails the test instead of stalling the suite.
    script = textwrap.dedent(
        """
        import django
        django.setup()
        from branching.metadata.forceignore import ForceIgnore
        ignore = ForceIgnore("*a*a*a*a*a*a*a*a*a*a*a*b\\n**/a/**/a/**/a/**/a/**/b\\n")
        print(ignore.ignores("x/" + "a" * 50000), ignore.ignores("a/" * 5000 + "c"))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["False", "False"]


def test_each_rule_compiles_once_to_an_expression_without_lookaround() -> None:
    rule, problems = compile_rule("**/lwc/**/*.test.js")
    assert rule is not None and not problems
    assert "(?=" not in rule.regex and "(?!" not in rule.regex
