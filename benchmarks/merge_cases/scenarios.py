"""Paired operations on two branches of one project: the scenarios a merge must agree on."""

from __future__ import annotations

import random

from merge_cases.content import (
    API,
    BASE,
    CLASS_META,
    EXE,
    LNK,
    REG,
    VERBS,
    WORDS,
    Files,
    apex_class,
    field_meta,
)


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
