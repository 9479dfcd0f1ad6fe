"""git's ref-name rules, each refused with the reason the user sees."""

import subprocess

import pytest

from branching.refnames import branch_name_problem

REFUSED = [
    ("", "cannot be empty"),
    ("feature..x", "cannot contain '..'"),
    ("-feature", "cannot start with '-'"),
    ("my feature", "cannot contain a space"),
    ("feature.lock", "can end with '.lock'"),
    ("a/b.lock/c", "can end with '.lock'"),
    ("feature@{1}", "cannot contain '@{'"),
    ("feat\nure", "control characters"),
    ("feat\tx", "control characters"),
    ("feat\x7fx", "control characters"),
    ("feature/", "cannot start or end with '/'"),
    ("/feature", "cannot start or end with '/'"),
    ("feature.", "cannot end with '.'"),
    ("a//b", "'//'"),
    (".hidden", "can start with '.'"),
    ("a/.hidden", "can start with '.'"),
    ("we~ird", "'~'"),
    ("we^ird", "'^'"),
    ("we:ird", "':'"),
    ("we?ird", "'?'"),
    ("we*ird", "'*'"),
    ("we[ird", "'['"),
    ("we\\ird", "a backslash"),
    ("@", "single character '@'"),
]
ACCEPTED = [
    "main",
    "master",
    "release/2027-q1",
    "feature/RM-42-invoice",
    "dev/alice",
    "a.b",
    "uat",
    "hotfix/1.2.3",
    "ü-unicode",
    "x@y",
]


@pytest.mark.parametrize(("name", "reason"), REFUSED)
def test_it_refuses_invalid_names_with_a_reason(name, reason):
    problem = branch_name_problem(name)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("name", ACCEPTED)
def test_it_accepts_valid_names(name):
    assert branch_name_problem(name) is None


# `check-ref-format --branch @` answers for the "@" shorthand of HEAD; `git branch @` refuses it.
@pytest.mark.parametrize("name", [n for n, _ in REFUSED if n not in ("", "@")] + ACCEPTED)
def test_it_agrees_with_git(name):
    git = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    assert (git.returncode == 0) == (branch_name_problem(name) is None)
