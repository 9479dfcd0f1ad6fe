"""Agreement harness: our ``merge_commits`` versus ``git merge-tree --write-tree``.

Generates seeded, Salesforce DX-shaped histories (Apex classes with their
``-meta.xml``, LWC bundles, custom object fields, permission sets, static
resources, the odd symlink) where two branches apply paired operations to the
same files — conflicting and non-conflicting edits, renames, deletes, mode
changes, directory renames, add/add, binary edits, file/directory clashes,
criss-cross merges — and compares both merges.

    .venv/bin/python benchmarks/merge_agreement.py --cases 300 --seed 1
    .venv/bin/python benchmarks/merge_agreement.py --cases 1000 --seed 1 --chaos
    .venv/bin/python benchmarks/merge_agreement.py --cases 300 --seed 1 --real

``--real`` starts every case from files of real open-source Salesforce DX projects (the
trailheadapps files under ``tests/fixtures/sfdx/``, never the authored ones), a few generated
Apex classes added so that every scenario has something to work on.

Used by ``tests/branching/test_merge.py`` too (imported by path).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dulwich.repo import Repo  # noqa: E402

from branching.git.merge import MergeAbortedError, Merger  # noqa: E402

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "gen",
    "GIT_AUTHOR_EMAIL": "gen@example.com",
    "GIT_COMMITTER_NAME": "gen",
    "GIT_COMMITTER_EMAIL": "gen@example.com",
    "LC_ALL": "C",
}

Files = dict[str, tuple[int, bytes]]  # path -> (mode, content); symlink content = target

REG, EXE, LNK = 0o100644, 0o100755, 0o120000

API = "59.0"
CLASS_META = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">\n'
    f"    <apiVersion>{API}</apiVersion>\n"
    "    <status>Active</status>\n"
    "</ApexClass>\n"
).encode()

WORDS = [
    "Account",
    "Contact",
    "Opportunity",
    "Lead",
    "Case",
    "Quote",
    "Order",
    "Invoice",
    "Asset",
    "Campaign",
    "Product",
    "Pricebook",
    "Contract",
    "Entitlement",
    "Territory",
    "Region",
    "Partner",
    "Vendor",
]
VERBS = [
    "get",
    "set",
    "sync",
    "load",
    "save",
    "validate",
    "build",
    "apply",
    "merge",
    "refresh",
    "publish",
    "route",
]


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_ENV)
    return env


def git(repo: str | Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        input=data,
        capture_output=True,
        env=git_env(),
        check=False,
    )


# --------------------------------------------------------------------- content


def apex_class(rnd: random.Random, name: str) -> bytes:
    lines = [f"public with sharing class {name} {{"]
    for m in range(rnd.randint(2, 6)):
        verb = rnd.choice(VERBS)
        obj = rnd.choice(WORDS)
        lines.append(f"    public static List<{obj}> {verb}{obj}{m}(Set<Id> ids) {{")
        soql = f"SELECT Id, Name FROM {obj} WHERE Id IN :ids"  # noqa: S608 - Apex text, not SQL
        lines.append(f"        List<{obj}> rows = [{soql}];")
        for k in range(rnd.randint(1, 5)):
            lines.append(f"        System.debug('{name}.{verb}{m} step {k}: ' + rows.size());")
        if rnd.random() < 0.5:
            lines.append("        if (rows.isEmpty()) {")
            lines.append("            return rows;")
            lines.append("        }")
        lines.append("        return rows;")
        lines.append("    }")
        lines.append("")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


def field_meta(rnd: random.Random, name: str) -> bytes:
    kind = rnd.choice(["Text", "Number", "Checkbox", "Picklist", "Date"])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <fullName>{name}</fullName>\n"
        "    <externalId>false</externalId>\n"
        f"    <label>{name.replace('__c', '').replace('_', ' ')}</label>\n"
        "    <required>false</required>\n"
        "    <trackTrending>false</trackTrending>\n"
        f"    <type>{kind}</type>\n"
        "</CustomField>\n"
    ).encode()


def lwc_js(rnd: random.Random, name: str) -> bytes:
    lines = [
        "import { LightningElement, api, wire } from 'lwc';",
        "",
        f"export default class {name[0].upper() + name[1:]} extends LightningElement {{",
        "    @api recordId;",
    ]
    for k in range(rnd.randint(1, 4)):
        lines += [
            f"    handle{rnd.choice(VERBS).title()}{k}(event) {{",
            "        this.dispatch(event);",
        ]
        lines += ["    }", ""]
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


def lwc_html(rnd: random.Random, name: str) -> bytes:
    rows = "".join(
        f'        <lightning-input label="{rnd.choice(WORDS)}"></lightning-input>\n'
        for _ in range(rnd.randint(1, 4))
    )
    card = f'    <lightning-card title="{name}">\n{rows}    </lightning-card>\n'
    return f"<template>\n{card}</template>\n".encode()


def lwc_meta() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<LightningComponentBundle xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <apiVersion>{API}</apiVersion>\n"
        "    <isExposed>true</isExposed>\n"
        "</LightningComponentBundle>\n"
    ).encode()


def permission_set(rnd: random.Random, objs: list[str]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">',
    ]
    for obj in objs:
        for f in range(rnd.randint(3, 12)):
            out += [
                "    <fieldPermissions>",
                "        <editable>true</editable>",
                f"        <field>{obj}.Field{f}__c</field>",
                "        <readable>true</readable>",
                "    </fieldPermissions>",
            ]
    out.append("</PermissionSet>")
    return ("\n".join(out) + "\n").encode()


def binary_blob(rnd: random.Random) -> bytes:
    return b"PK\x03\x04\x00\x00" + bytes(rnd.randrange(256) for _ in range(rnd.randint(40, 400)))


BASE = "force-app/main/default"


def random_project(rnd: random.Random, n_classes: int = 8, n_bundles: int = 3) -> Files:
    files: Files = {}
    used: set[str] = set()
    for _ in range(n_classes):
        name = rnd.choice(WORDS) + rnd.choice(["Service", "Selector", "Controller", "Handler"])
        while name in used:
            name += "X"
        used.add(name)
        files[f"{BASE}/classes/{name}.cls"] = (REG, apex_class(rnd, name))
        files[f"{BASE}/classes/{name}.cls-meta.xml"] = (REG, CLASS_META)
    for b in range(n_bundles):
        name = rnd.choice(VERBS) + rnd.choice(WORDS) + str(b)
        for ext, content in (
            ("js", lwc_js(rnd, name)),
            ("html", lwc_html(rnd, name)),
            ("js-meta.xml", lwc_meta()),
        ):
            files[f"{BASE}/lwc/{name}/{name}.{ext}"] = (REG, content)
    objs = rnd.sample(WORDS, 2)
    for obj in objs:
        for f in range(rnd.randint(2, 5)):
            fname = f"Field{f}__c"
            files[f"{BASE}/objects/{obj}/fields/{fname}.field-meta.xml"] = (
                REG,
                field_meta(rnd, fname),
            )
    files[f"{BASE}/permissionsets/Admin.permissionset-meta.xml"] = (REG, permission_set(rnd, objs))
    files[f"{BASE}/staticresources/logo.resource"] = (REG, binary_blob(rnd))
    files["sfdx-project.json"] = (REG, b'{\n  "packageDirectories": [{"path": "force-app"}]\n}\n')
    if rnd.random() < 0.3:
        files["scripts/deploy.sh"] = (EXE, b"#!/bin/sh\nsf project deploy start\n")
    if rnd.random() < 0.2:
        files["config/current"] = (LNK, b"../force-app")
    return files


# ------------------------------------------------------------------ operations


def edit_lines(rnd: random.Random, content: bytes, region: tuple[float, float], tag: str) -> bytes:
    lines = content.split(b"\n")
    for _ in range(rnd.randint(1, 3)):
        n = max(1, len(lines) - 1)
        lo = min(int(region[0] * n), n - 1)
        hi = min(max(lo, int(region[1] * n) - 1), n - 1)
        i = rnd.randint(lo, hi)
        op = rnd.random()
        new = f"        // {tag} {rnd.choice(VERBS)} {rnd.randint(0, 999)}".encode()
        if op < 0.5 or len(lines) <= 2:
            lines[i] = new
        elif op < 0.8:
            lines.insert(i, new)
        else:
            del lines[i]
    return b"\n".join(lines)


@dataclass
class Case:
    """Two commits to merge plus the scenario kinds that went into them."""

    ours: bytes
    theirs: bytes
    kinds: tuple[str, ...]
    ours_label: str
    theirs_label: str


@dataclass
class _Commit:
    ref: str
    files: Files
    parents: list[int]
    mark: int = 0


class _Builder:
    def __init__(self) -> None:
        self.commits: list[_Commit] = []
        self.time = 1_700_000_000

    def commit(self, ref: str, files: Files, parents: list[int]) -> int:
        self.commits.append(_Commit(ref, dict(files), parents, len(self.commits) + 1))
        return len(self.commits)

    def stream(self) -> bytes:
        out: list[bytes] = []
        for c in self.commits:
            self.time += 60
            out.append(f"commit {c.ref}\nmark :{c.mark}\n".encode())
            out.append(f"committer gen <gen@example.com> {self.time} +0000\n".encode())
            msg = f"commit {c.mark}\n".encode()
            out.append(b"data %d\n%s" % (len(msg), msg))
            if c.parents:
                out.append(f"from :{c.parents[0]}\n".encode())
            for p in c.parents[1:]:
                out.append(f"merge :{p}\n".encode())
            out.append(b"deleteall\n")
            for path, (mode, content) in sorted(c.files.items()):
                out.append(f"M {mode:o} inline {path}\n".encode())
                out.append(b"data %d\n%s\n" % (len(content), content))
            out.append(b"\n")
        return b"".join(out)


def _pick(rnd: random.Random, files: Files, pred) -> str | None:
    cands = sorted(p for p in files if pred(p, files[p]))
    return rnd.choice(cands) if cands else None


def _is_text(p: str, v: tuple[int, bytes]) -> bool:
    return v[0] != LNK and not p.endswith(".resource") and b"\0" not in v[1]


SCENARIOS = (
    "edit/edit-disjoint",
    "edit/edit-overlap",
    "edit/edit-identical",
    "rename/edit",
    "rename+edit/edit",
    "delete/edit",
    "chmod/edit",
    "rename/rename-1to2",
    "rename/rename-2to1",
    "rename/delete",
    "dir-rename/add",
    "add/add-same",
    "add/add-different",
    "binary/binary",
    "symlink/symlink",
    "file/dir",
    "typechange/edit",
    "meta-rename-ambiguity",
    "permset-edit",
    "delete/delete",
    "dir-rename-nested",
    "dir-rename-split",
    "rename-competition",
    "rename/add",
    "rename/rename-1to1",
    "empty-files",
    "crlf-edit",
    "dir-delete/edit",
    "chmod/chmod",
    "rename+chmod/edit",
    "dir-rename/rename-into",
    "dir-rename-both",
)


def apply_scenario(rnd: random.Random, kind: str, a: Files, b: Files) -> bool:
    """Apply one paired operation to ours (a) and theirs (b); False if not applicable."""
    text = _pick(rnd, a, lambda p, v: _is_text(p, v) and p in b and b[p] == v)
    cls = _pick(rnd, a, lambda p, v: p.endswith(".cls") and p in b and b[p] == v)
    if kind == "edit/edit-disjoint" and text:
        a[text] = (a[text][0], edit_lines(rnd, a[text][1], (0.0, 0.35), "ours"))
        b[text] = (b[text][0], edit_lines(rnd, b[text][1], (0.65, 1.0), "theirs"))
    elif kind == "edit/edit-overlap" and text:
        a[text] = (a[text][0], edit_lines(rnd, a[text][1], (0.3, 0.6), "ours"))
        b[text] = (b[text][0], edit_lines(rnd, b[text][1], (0.3, 0.6), "theirs"))
    elif kind == "edit/edit-identical" and text:
        new = edit_lines(rnd, a[text][1], (0.0, 1.0), "both")
        a[text] = (a[text][0], new)
        b[text] = (b[text][0], new)
    elif kind in ("rename/edit", "rename+edit/edit") and cls:
        mode, content = a.pop(cls)
        if kind == "rename+edit/edit":
            content = edit_lines(rnd, content, (0.0, 0.3), "ours")
        new = (
            cls.replace(".cls", "V2.cls")
            if rnd.random() < 0.5
            else cls.replace("classes/", "classes/core/")
        )
        a[new] = (mode, content)
        b[cls] = (b[cls][0], edit_lines(rnd, b[cls][1], (0.6, 1.0), "theirs"))
    elif kind == "delete/edit" and text:
        del a[text]
        b[text] = (b[text][0], edit_lines(rnd, b[text][1], (0.0, 1.0), "theirs"))
    elif kind == "chmod/edit" and text:
        a[text] = (EXE if a[text][0] == REG else REG, a[text][1])
        b[text] = (b[text][0], edit_lines(rnd, b[text][1], (0.0, 1.0), "theirs"))
    elif kind == "rename/rename-1to2" and cls:
        v = a.pop(cls)
        b.pop(cls)
        a[cls.replace(".cls", "Ours.cls")] = v
        b[cls.replace(".cls", "Theirs.cls")] = v
    elif kind == "rename/rename-2to1":
        two = sorted(p for p in a if p.endswith(".cls") and p in b and a[p] == b[p])
        if len(two) < 2:
            return False
        f1, f2 = rnd.sample(two, 2)
        target = f"{BASE}/classes/Merged{rnd.randint(0, 99)}.cls"
        a[target] = a.pop(f1)
        b[target] = b.pop(f2)
    elif kind == "rename/delete" and cls:
        a[cls.replace(".cls", "Moved.cls")] = a.pop(cls)
        del b[cls]
    elif kind == "dir-rename/add":
        bundles = sorted({p.split("/")[4] for p in a if p.startswith(f"{BASE}/lwc/")})
        bundles = [x for x in bundles if all(a.get(p) == b.get(p) for p in a if f"/lwc/{x}/" in p)]
        if not bundles:
            return False
        old = rnd.choice(bundles)
        new = old + "Next"
        for p in [p for p in a if f"/lwc/{old}/" in p]:
            a[p.replace(f"/lwc/{old}/", f"/lwc/{new}/")] = a.pop(p)
        b[f"{BASE}/lwc/{old}/helper.js"] = (REG, b"export const help = () => 42;\n")
        if rnd.random() < 0.5:
            p = _pick(
                rnd, b, lambda p, v: f"/lwc/{old}/" in p and p.endswith(".js") and "helper" not in p
            )
            if p:
                b[p] = (b[p][0], edit_lines(rnd, b[p][1], (0.0, 1.0), "theirs"))
    elif kind == "add/add-same":
        name = f"{BASE}/classes/Shared{rnd.randint(0, 999)}.cls"
        content = apex_class(rnd, "Shared")
        a[name] = b[name] = (REG, content)
    elif kind == "add/add-different":
        name = f"{BASE}/classes/Twin{rnd.randint(0, 999)}.cls"
        content = apex_class(rnd, "Twin")
        a[name] = (REG, content)
        b[name] = (REG, edit_lines(rnd, content, (0.2, 0.8), "theirs"))
    elif kind == "binary/binary":
        p = f"{BASE}/staticresources/logo.resource"
        if p not in a or a[p] != b.get(p):
            return False
        a[p] = (REG, a[p][1] + b"\x00ours")
        if rnd.random() < 0.7:
            b[p] = (REG, b[p][1] + b"\x00theirs")
    elif kind == "symlink/symlink":
        p = "config/current"
        a[p] = (LNK, b"../force-app/main")
        if rnd.random() < 0.6:
            b[p] = (LNK, b"../force-app/test")
    elif kind == "file/dir":
        p = f"{BASE}/objects/Extra{rnd.randint(0, 99)}"
        a[p] = (REG, b"placeholder\n")
        b[p + "/fields/X__c.field-meta.xml"] = (REG, field_meta(rnd, "X__c"))
    elif kind == "typechange/edit" and text:
        a[text] = (LNK, b"../elsewhere")
        if rnd.random() < 0.7:
            b[text] = (b[text][0], edit_lines(rnd, b[text][1], (0.0, 1.0), "theirs"))
    elif kind == "meta-rename-ambiguity":
        metas = sorted(p for p in a if p.endswith(".cls-meta.xml") and p in b)
        if len(metas) < 2:
            return False
        m1, m2 = rnd.sample(metas, 2)
        a[m1.replace("classes/", "classes/moved/")] = a.pop(m1)
        del a[m2]
        if rnd.random() < 0.5 and m2 in b:
            b[m2] = (REG, b[m2][1].replace(API.encode(), b"60.0"))
    elif kind == "permset-edit":
        p = f"{BASE}/permissionsets/Admin.permissionset-meta.xml"
        if p not in a or a[p] != b.get(p):
            return False
        a[p] = (REG, edit_lines(rnd, a[p][1], (0.0, 0.6), "ours").replace(b"// ", b"<!-- "))
        b[p] = (REG, edit_lines(rnd, b[p][1], (0.4, 1.0), "theirs").replace(b"// ", b"<!-- "))
    elif kind == "delete/delete" and text:
        del a[text]
        del b[text]
    elif kind in ("dir-rename-nested", "dir-rename-split", "dir-delete/edit"):
        objs = sorted({p.split("/")[4] for p in a if p.startswith(f"{BASE}/objects/")})
        objs = [
            o
            for o in objs
            if any(f"/objects/{o}/" in p for p in a)
            and all(a.get(p) == b.get(p) for p in a if f"/objects/{o}/" in p)
        ]
        if not objs:
            return False
        obj = rnd.choice(objs)
        members = sorted(p for p in a if f"/objects/{obj}/" in p)
        if kind == "dir-delete/edit":
            for p in members:
                del a[p]
            p = rnd.choice(members)
            b[p] = (b[p][0], edit_lines(rnd, b[p][1], (0.0, 1.0), "theirs"))
        elif kind == "dir-rename-nested":
            for p in members:
                a[p.replace(f"/objects/{obj}/", f"/objects/{obj}V2/")] = a.pop(p)
            b[f"{BASE}/objects/{obj}/fields/New__c.field-meta.xml"] = (
                REG,
                field_meta(rnd, "New__c"),
            )
            if rnd.random() < 0.5:
                b[f"{BASE}/objects/{obj}/listViews/All.listView-meta.xml"] = (REG, b"<ListView/>\n")
        else:
            for k, p in enumerate(members):
                target = f"{obj}A" if k % 2 else f"{obj}B"
                a[p.replace(f"/objects/{obj}/", f"/objects/{target}/")] = a.pop(p)
            b[f"{BASE}/objects/{obj}/fields/Split__c.field-meta.xml"] = (
                REG,
                field_meta(rnd, "Split__c"),
            )
    elif kind == "rename-competition":
        classes = sorted(p for p in a if p.endswith(".cls") and p in b and a[p] == b[p])
        if len(classes) < 2:
            return False
        f1, f2 = rnd.sample(classes, 2)
        body = a[f1][1]
        a[f2] = (REG, body.replace(b"return rows;", b"return rows; // twin", 1))
        b[f2] = a[f2]
        # ours deletes both and adds two near-copies elsewhere
        del a[f1], a[f2]
        a[f"{BASE}/classes/util/Copy1.cls"] = (REG, edit_lines(rnd, body, (0.0, 0.5), "c1"))
        a[f"{BASE}/classes/util/Copy2.cls"] = (REG, edit_lines(rnd, body, (0.5, 1.0), "c2"))
        b[f1] = (REG, edit_lines(rnd, body, (0.0, 1.0), "theirs"))
    elif kind == "rename/add" and cls:
        target = cls.replace(".cls", "Renamed.cls")
        a[target] = a.pop(cls)
        b[target] = (REG, apex_class(rnd, "Added"))
    elif kind == "rename/rename-1to1" and cls:
        target = cls.replace("classes/", "classes/shared/")
        a[target] = a.pop(cls)
        b[target] = (b[cls][0], edit_lines(rnd, b.pop(cls)[1], (0.0, 1.0), "theirs"))
    elif kind == "empty-files":
        a[f"{BASE}/classes/.keep"] = (REG, b"")
        b[f"{BASE}/lwc/.keep"] = (REG, b"")
        p = _pick(rnd, a, lambda p, v: v[1] == b"" and p in b)
        if p:
            a[p.replace(".keep", "moved.keep")] = a.pop(p)
    elif kind == "crlf-edit" and text:
        crlf = a[text][1].replace(b"\n", b"\r\n")
        a[text] = (a[text][0], edit_lines(rnd, crlf, (0.0, 0.5), "ours"))
        b[text] = (b[text][0], edit_lines(rnd, crlf, (0.4, 1.0), "theirs"))
    elif kind == "chmod/chmod" and text:
        a[text] = (EXE, a[text][1])
        b[text] = (EXE if rnd.random() < 0.5 else REG, edit_lines(rnd, b[text][1], (0, 1), "t"))
    elif kind == "rename+chmod/edit" and cls:
        a[cls.replace(".cls", "X.cls")] = (EXE, a.pop(cls)[1])
        b[cls] = (b[cls][0], edit_lines(rnd, b[cls][1], (0.0, 1.0), "theirs"))
    elif kind in ("dir-rename/rename-into", "dir-rename-both"):
        bundles = sorted({p.split("/")[4] for p in a if p.startswith(f"{BASE}/lwc/")})
        bundles = [
            x
            for x in bundles
            if any(f"/lwc/{x}/" in p for p in a)
            and all(a.get(p) == b.get(p) for p in a if f"/lwc/{x}/" in p)
        ]
        if not bundles:
            return False
        old = rnd.choice(bundles)
        for p in [p for p in a if f"/lwc/{old}/" in p]:
            a[p.replace(f"/lwc/{old}/", f"/lwc/{old}Ours/")] = a.pop(p)
        if kind == "dir-rename-both":
            for p in [p for p in b if f"/lwc/{old}/" in p]:
                b[p.replace(f"/lwc/{old}/", f"/lwc/{old}Theirs/")] = b.pop(p)
            b[f"{BASE}/lwc/{old}Theirs/extra.js"] = (REG, b"export default 1;\n")
        elif cls:
            b[f"{BASE}/lwc/{old}/moved.js"] = (REG, b.pop(cls)[1])
    else:
        return False
    return True


def random_noise(rnd: random.Random, files: Files, tag: str) -> None:
    """Unpaired edits: the background activity of a real branch."""
    for _ in range(rnd.randint(0, 2)):
        p = _pick(rnd, files, _is_text)
        if p:
            files[p] = (files[p][0], edit_lines(rnd, files[p][1], (0.0, 1.0), tag))
    if rnd.random() < 0.3:
        name = rnd.choice(WORDS) + tag.title() + str(rnd.randint(0, 99))
        files[f"{BASE}/classes/{name}.cls"] = (REG, apex_class(rnd, name))
        files[f"{BASE}/classes/{name}.cls-meta.xml"] = (REG, CLASS_META)


FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sfdx"


def real_files() -> Files:
    """Every file copied from a public project into the package fixtures (not `authored/`)."""
    out: Files = {}
    for project in sorted(FIXTURES.iterdir()):
        root = project / "files"
        if project.name == "authored" or not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                relative = path.relative_to(root).as_posix()
                out[f"{project.name}/{relative}"] = (REG, path.read_bytes())
    return out


def real_project(rnd: random.Random, pool: Files) -> Files:
    """Real project files (a random half of the pool) under one package directory."""
    chosen = rnd.sample(sorted(pool), max(1, len(pool) // 2))
    files: Files = {}
    for key in chosen:
        relative = key.split("/", 1)[1]
        if not relative.startswith("force-app/"):
            relative = f"{BASE}/{relative}"
        files[relative] = pool[key]
    for path, value in random_project(rnd, rnd.randint(2, 4), 1).items():
        files.setdefault(path, value)
    return files


def build_cases(repo: Path, seed: int, count: int, *, real: bool = False) -> list[Case]:
    """Create ``count`` merge cases in the (existing) repository at ``repo``."""
    rnd = random.Random(seed)
    builder = _Builder()
    specs = []
    pool = real_files() if real else {}
    for i in range(count):
        if real:
            base = real_project(rnd, pool)
        else:
            base = random_project(rnd, rnd.randint(3, 10), rnd.randint(1, 4))
        base_mark = builder.commit(f"refs/cases/{i}/base", base, [])
        a = dict(base)
        b = dict(base)
        kinds = []
        for kind in rnd.sample(SCENARIOS, rnd.randint(1, 4)):
            if apply_scenario(rnd, kind, a, b):
                kinds.append(kind)
        random_noise(rnd, a, "ours")
        random_noise(rnd, b, "theirs")
        if rnd.random() < 0.06:
            kinds.append("three-merge-bases")
            c = dict(base)
            random_noise(rnd, c, "third")
            m1 = builder.commit(f"refs/cases/{i}/m1", a, [base_mark])
            m2 = builder.commit(f"refs/cases/{i}/m2", b, [base_mark])
            m3 = builder.commit(f"refs/cases/{i}/m3", c, [base_mark])
            x = builder.commit(f"refs/cases/{i}/x", {**c, **b, **a}, [m1, m2, m3])
            y = builder.commit(f"refs/cases/{i}/y", {**a, **c, **b}, [m3, m2, m1])
            xf, yf = {**c, **b, **a}, {**a, **c, **b}
            random_noise(rnd, xf, "ours")
            random_noise(rnd, yf, "theirs")
            om = builder.commit(f"refs/cases/{i}/ours", xf, [x])
            tm = builder.commit(f"refs/cases/{i}/theirs", yf, [y])
        elif rnd.random() < 0.15:
            kinds.append("criss-cross")
            a1 = builder.commit(f"refs/cases/{i}/a1", a, [base_mark])
            b1 = builder.commit(f"refs/cases/{i}/b1", b, [base_mark])
            # each side "resolves" the cross merge its own way
            a2_files = {**b, **a}
            b2_files = {**a, **b}
            a2 = builder.commit(f"refs/cases/{i}/a2", a2_files, [a1, b1])
            b2 = builder.commit(f"refs/cases/{i}/b2", b2_files, [b1, a1])
            a3_files, b3_files = dict(a2_files), dict(b2_files)
            random_noise(rnd, a3_files, "ours")
            random_noise(rnd, b3_files, "theirs")
            om = builder.commit(f"refs/cases/{i}/ours", a3_files, [a2])
            tm = builder.commit(f"refs/cases/{i}/theirs", b3_files, [b2])
        else:
            om = builder.commit(f"refs/cases/{i}/ours", a, [base_mark])
            tm = builder.commit(f"refs/cases/{i}/theirs", b, [base_mark])
        specs.append((i, om, tm, tuple(kinds) or ("noise",)))
    marks = fast_import(repo, builder.stream())
    return [
        Case(marks[om], marks[tm], kinds, f"cases/{i}/ours", f"cases/{i}/theirs")
        for i, om, tm, kinds in specs
    ]


# ----------------------------------------------------------------- chaos mode

CHAOS_DIRS = ("", "a", "a/b", "c", "c/d", "a/b/e")
CHAOS_NAMES = ("x", "y", "z", "b", "d", "x.txt", "y.cls", "e", "b-1", "e.x", "d-x")


def _chaos_path(rnd: random.Random) -> str:
    return "/".join(x for x in (rnd.choice(CHAOS_DIRS), rnd.choice(CHAOS_NAMES)) if x)


def _chaos_content(rnd: random.Random, tag: str = "") -> bytes:
    vocab = [f"row {i}\n" for i in range(rnd.choice([5, 40]))]
    return ("".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 30))) + tag).encode()


def chaos_mutate(rnd: random.Random, files: Files, tag: str) -> None:
    """Random edits, renames, directory moves, deletes, chmods, symlinks, binaries.

    The path namespace is tiny on purpose, so that paths collide, files and
    directories swap places and directory renames overlap.
    """
    for _ in range(rnd.randint(1, 6)):
        op = rnd.random()
        keys = sorted(files)
        if op < 0.3 and keys:
            p = rnd.choice(keys)
            mode, data = files[p]
            if mode != LNK:
                rows = data.split(b"\n")
                rows[rnd.randrange(len(rows))] = f"{tag} {rnd.randint(0, 99)}".encode()
                files[p] = (mode, b"\n".join(rows))
        elif op < 0.45 and keys:
            files[_chaos_path(rnd)] = files.pop(rnd.choice(keys))
        elif op < 0.55 and keys:
            old = rnd.choice([d for d in CHAOS_DIRS if d])
            new = rnd.choice(["n", "a/n", "c/n2", "m"])
            for p in [p for p in keys if p.startswith(old + "/")]:
                files[new + p[len(old) :]] = files.pop(p)
        elif op < 0.65 and keys:
            del files[rnd.choice(keys)]
        elif op < 0.72 and keys:
            p = rnd.choice(keys)
            mode, data = files[p]
            if mode != LNK:
                files[p] = (EXE if mode == REG else REG, data)
        elif op < 0.78:
            files[_chaos_path(rnd)] = (LNK, rnd.choice([b"x", b"../y"]))
        elif op < 0.82:
            files[_chaos_path(rnd)] = (REG, b"\0bin" + tag.encode())
        else:
            files[_chaos_path(rnd)] = (REG, _chaos_content(rnd, tag))
    paths = sorted(files)
    for p in paths:  # a snapshot cannot hold "p" both as a file and a directory
        if any(q.startswith(p + "/") for q in paths):
            files.pop(p, None)


def build_chaos_cases(repo: Path, seed: int, count: int) -> list[Case]:
    """Small random histories (20% criss-cross) built from :func:`chaos_mutate`."""
    rnd = random.Random(seed)
    builder = _Builder()
    specs = []
    for i in range(count):
        base: Files = {}
        for _ in range(rnd.randint(2, 10)):
            base[_chaos_path(rnd)] = (REG, _chaos_content(rnd))
        chaos_mutate(rnd, base, "base")
        base_mark = builder.commit(f"refs/cases/{i}/base", base, [])
        a, b = dict(base), dict(base)
        chaos_mutate(rnd, a, "ours")
        chaos_mutate(rnd, b, "theirs")
        kinds = ("chaos",)
        if rnd.random() < 0.2:
            kinds = ("chaos", "criss-cross")
            a1 = builder.commit(f"refs/cases/{i}/a1", a, [base_mark])
            b1 = builder.commit(f"refs/cases/{i}/b1", b, [base_mark])
            x, y = dict(a), dict(b)
            chaos_mutate(rnd, x, "xa")
            chaos_mutate(rnd, y, "yb")
            a2 = builder.commit(f"refs/cases/{i}/a2", {**b, **x}, [a1, b1])
            b2 = builder.commit(f"refs/cases/{i}/b2", {**a, **y}, [b1, a1])
            om = builder.commit(f"refs/cases/{i}/ours", {**b, **x}, [a2])
            tm = builder.commit(f"refs/cases/{i}/theirs", {**a, **y}, [b2])
        else:
            om = builder.commit(f"refs/cases/{i}/ours", a, [base_mark])
            tm = builder.commit(f"refs/cases/{i}/theirs", b, [base_mark])
        specs.append((i, om, tm, kinds))
    marks = fast_import(repo, builder.stream())
    return [
        Case(marks[om], marks[tm], kinds, f"cases/{i}/ours", f"cases/{i}/theirs")
        for i, om, tm, kinds in specs
    ]


def fast_import(repo: Path, stream: bytes) -> dict[int, bytes]:
    """Feed a fast-import stream; returns mark number -> commit id."""
    marks_file = Path(repo) / "generated.marks"
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet", f"--export-marks={marks_file}"],
        input=stream,
        capture_output=True,
        env=git_env(),
        check=True,
    )
    marks = {}
    for line in marks_file.read_text().splitlines():
        mark, sha = line.split()
        marks[int(mark[1:])] = sha.encode()
    return marks


# ----------------------------------------------------------------- comparison


@dataclass
class GitAnswer:
    tree: bytes
    conflicts: tuple[str, ...]
    clean: bool


def git_merge_tree(repo: Path, ours: str, theirs: str) -> GitAnswer:
    proc = git(repo, "merge-tree", "--write-tree", "--name-only", "-z", ours, theirs)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr.decode())
    fields = proc.stdout.split(b"\0")
    tree = fields[0]
    conflicts: list[str] = []
    if proc.returncode == 1:
        for f in fields[1:]:
            if not f:
                break
            conflicts.append(f.decode("utf-8", "surrogateescape"))
    return GitAnswer(tree, tuple(conflicts), proc.returncode == 0)


@dataclass
class Report:
    total: int = 0
    agree: int = 0
    outcomes: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    conflicted_tree_equal: int = 0
    conflicted_total: int = 0
    git_failed: int = 0
    failures: list[tuple[Case, str]] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.agree / self.total if self.total else 100.0

    def render(self) -> str:
        lines = [
            f"agreement: {self.agree}/{self.total} = {self.percent:.2f}%",
            f"conflicted merges with identical trees (markers included): "
            f"{self.conflicted_tree_equal}/{self.conflicted_total}",
            "outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())),
            f"cases where git itself failed (not counted): {self.git_failed}",
            "by scenario kind (agree/total):",
        ]
        for kind in sorted(self.by_kind):
            c = self.by_kind[kind]
            lines.append(f"  {kind:24s} {c['agree']:4d}/{c['total']:<4d}")
        return "\n".join(lines)


def classify(ours_clean: bool, ours_tree: bytes, ours_conf: tuple, ans: GitAnswer) -> str:
    if ans.clean and ours_clean:
        return "agree" if ours_tree == ans.tree else "clean-tree-differs"
    if not ans.clean and ours_clean:
        return "clean-where-git-conflicts"
    if ans.clean and not ours_clean:
        return "conflict-where-git-clean"
    return "agree" if set(ours_conf) == set(ans.conflicts) else "conflict-set-differs"


def compare_cases(repo: Path, cases: list[Case], merger: Merger | None = None) -> Report:
    merger = merger or Merger(Repo(str(repo)).object_store)
    report = Report()
    for case in cases:
        try:
            ans = git_merge_tree(repo, case.ours_label, case.theirs_label)
        except RuntimeError as exc:
            # git itself can die on an internal assertion (a git bug): we
            # agree when we abort too; anything else is counted apart.
            try:
                merger.merge_commits(case.ours, case.theirs)
            except MergeAbortedError:
                report.total += 1
                report.agree += 1
                report.outcomes["agree (both abort)"] += 1
                continue
            except Exception:  # noqa: BLE001, S110 - reported just below
                pass
            report.git_failed += 1
            report.failures.append((case, f"git failed: {exc}"))
            continue
        try:
            res = merger.merge_commits(
                case.ours, case.theirs, ours_label=case.ours_label, theirs_label=case.theirs_label
            )
            outcome = classify(res.clean, res.tree, res.conflicts, ans)
        except Exception:  # noqa: BLE001 - the harness reports, never hides
            outcome = "error"
            res = None
            report.failures.append((case, traceback.format_exc(limit=-3)))
        report.total += 1
        report.outcomes[outcome] += 1
        if outcome == "agree":
            report.agree += 1
        elif outcome != "error":
            report.failures.append((case, outcome))
        if res is not None and not ans.clean:
            report.conflicted_total += 1
            report.conflicted_tree_equal += res.tree == ans.tree
        for kind in case.kinds:
            c = report.by_kind.setdefault(kind, Counter())
            c["total"] += 1
            c["agree"] += outcome == "agree"
    return report


def run(
    cases: int, seed: int, workdir: Path | None = None, *, chaos: bool = False, real: bool = False
) -> Report:
    """Generate ``cases`` merges (Salesforce-shaped, from real project files, or chaos) and
    compare them."""
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="merge-agreement-"))
    tmp.mkdir(parents=True, exist_ok=True)
    if git(tmp, "init", "-q", "--bare").returncode:
        raise RuntimeError(f"cannot create a repository in {tmp}")
    if chaos:
        return compare_cases(tmp, build_chaos_cases(tmp, seed, cases))
    return compare_cases(tmp, build_cases(tmp, seed, cases, real=real))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show-failures", type=int, default=10)
    parser.add_argument(
        "--chaos", action="store_true", help="random operations in a tiny path space instead"
    )
    parser.add_argument(
        "--real", action="store_true", help="start from real projects' files (tests/fixtures)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    report = run(args.cases, args.seed, chaos=args.chaos, real=args.real)
    print(report.render())
    for case, what in report.failures[: args.show_failures]:
        print(f"  {what}: {case.ours_label} {case.theirs_label} kinds={','.join(case.kinds)}")
    print(f"({time.perf_counter() - start:.1f}s)")


if __name__ == "__main__":
    main()
