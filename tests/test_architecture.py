"""docs/architecture.md's tree names every folder and module of instances/, and only those."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def documented() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    tree = text.split("```")[1]
    block = tree.split("\ninstances/", 1)[1].split("\ntemplates/", 1)[0]
    names: set[str] = set()
    for line in block.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("   "):  # an entry, not a continuation
            first = line.split()[0]
            if first.endswith("/"):
                names.add(first)  # a folder: "  promotions/     the rules …"
            else:  # modules: "  admin.py, urls.py: …"
                names.update(n.strip() for n in line.split(":", 1)[0].split(","))
    return names


def present() -> set[str]:
    return {
        p.name + "/" if p.is_dir() else p.name
        for p in (ROOT / "instances").iterdir()
        if p.name not in ("__init__.py", "__pycache__")
        and (p.is_dir() and not p.name.startswith(".") or p.suffix == ".py")
    }


def test_the_tree_in_the_docs_matches_instances():
    assert documented() == present()
