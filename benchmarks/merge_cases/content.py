"""The files of a generated Salesforce DX project, and git run the way the harness runs it."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

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
