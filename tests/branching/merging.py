"""Helpers for the merge tests: a git-built repository and two-branch histories."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import GitRepo

CLS = "force-app/main/default/classes"
LWC = "force-app/main/default/lwc"


def apex(name: str, methods: int = 4, tag: str = "") -> str:
    body = [f"public with sharing class {name} {{"]
    for m in range(methods):
        body += [
            f"    public static Integer method{m}(Integer value) {{",
            f"        System.debug('{name} {m} {tag}');",
            f"        return value + {m};",
            "    }",
            "",
        ]
    return "\n".join(body) + "}\n"


def fork(
    repo: GitRepo,
    base: dict[str, str],
    ours: Callable[[GitRepo], None],
    theirs: Callable[[GitRepo], None],
) -> None:
    """base on main, then branches ``ours`` and ``theirs`` each with one commit."""
    for rel, content in base.items():
        repo.write(rel, content)
    repo.commit("base")
    repo.branch("ours", "main")
    ours(repo)
    repo.commit("ours")
    repo.branch("theirs", "main")
    theirs(repo)
    repo.commit("theirs")


def lines(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {i}\n" for i in range(n))
