"""Generate ``branching/metadata/registry_data.py`` from Salesforce's metadata registry.

The source of truth is source-deploy-retrieve's ``src/registry/metadataRegistry.json``
(forcedotcom/source-deploy-retrieve; the npm package ships it as
``lib/src/registry/metadataRegistry.json``). This script is run by hand when the registry
moves, never at run time:

    .venv/bin/python benchmarks/generate_metadata_registry.py \
        /tmp/refs/node_modules/@salesforce/source-deploy-retrieve/lib/src/registry/metadataRegistry.json

Every type of the registry is kept, with the strategy SDR converts it with (its `kind`):

- ``file``: one XML file (the default adapter), children included when SDR keeps them inside
  the parent's file (Workflow, SharingRules, AssignmentRules, MatchingRules, …);
- ``content``: a content file plus its ``-meta.xml`` (matchingContentFile);
- ``mixed``: content that is a file or a folder (mixedContent: StaticResource, Document,
  ExperienceBundle);
- ``bundle``: a folder of files (bundle and uiBundles: LWC, Aura, GenAiFunction,
  GenAiPlannerBundle, LightningTypeBundle, …);
- ``decomposed``: a folder of child files recomposed into one (CustomObject,
  CustomObjectTranslation, Bot);
- ``labels``: one file holding many children (CustomLabels, nonDecomposed);
- ``folder``: the folder of an in-folder type (ReportFolder, EmailFolder, …);
- ``digital``: a DigitalExperienceBundle and its DigitalExperience contents.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "branching" / "metadata" / "registry_data.py"


def _kind(entry: dict) -> str:
    strategies = entry.get("strategies") or {}
    adapter = strategies.get("adapter")
    if strategies.get("transformer") == "decomposedPermissionSet":
        return "permset"
    if strategies.get("transformer") == "decomposedLabels":
        return "labelfiles"
    if adapter == "partiallyDecomposed":
        return "partial"
    if adapter in ("bundle", "uiBundles"):
        return "bundle"
    if adapter == "decomposed":
        return "decomposed"
    if adapter == "digitalExperience":
        return "digital"
    if strategies.get("transformer") == "nonDecomposed":
        return "labels"
    if adapter == "mixedContent":
        return "mixed"
    if entry.get("folderContentType"):
        return "folder"
    if adapter == "matchingContentFile":
        return "content"
    return "file"


def _child(entry: dict) -> dict:
    return {
        "name": entry["name"],
        "directory": entry.get("directoryName", ""),
        "suffix": entry.get("suffix", ""),
        "unique_id": entry.get("uniqueIdElement", ""),
        "xml_element": entry.get("xmlElementName", ""),
        "addressable": entry.get("isAddressable", True),
    }


def generate(registry: dict, base: dict | None = None) -> dict:
    """The rows of every type in `registry` (a preset's types are looked up in `base`)."""
    types = {**(base or {}), **registry["types"]}
    out: dict[str, dict] = {}
    for entry in registry["types"].values():
        folder_type = entry.get("folderType")
        folder_content = entry.get("folderContentType")
        item = {
            "name": entry["name"],
            "kind": _kind(entry),
            "directory": entry.get("directoryName", ""),
            "suffix": entry.get("suffix", ""),
            "strict_directory": bool(entry.get("strictDirectoryName")),
            "in_folder": bool(entry.get("inFolder")),
            "folder_type": types[folder_type]["name"] if folder_type else "",
            "folder_content_type": types[folder_content]["name"] if folder_content else "",
            "legacy_suffix": entry.get("legacySuffix", ""),
            "children": [
                _child(child) for child in (entry.get("children") or {}).get("types", {}).values()
            ],
        }
        out[entry["name"]] = item
    return dict(sorted(out.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path, help="path to metadataRegistry.json")
    args = parser.parse_args()
    registry = json.loads(args.registry.read_text())
    data = generate(registry)
    presets = {
        path.stem: generate(json.loads(path.read_text()), registry["types"])
        for path in sorted((args.registry.parent / "presets").glob("*.json"))
    }

    def rows_of(items: dict, indent: str) -> tuple[list[str], list[str]]:
        rows, children = [], []
        for item in items.values():
            flags = ("S" if item["strict_directory"] else "") + ("F" if item["in_folder"] else "")
            rows.append(
                f"{indent}({item['name']!r}, {item['kind']!r}, {item['directory']!r}, "
                f"{item['suffix']!r}, {flags!r}, "
                f"{item['folder_type'] or item['folder_content_type']!r}, "
                f"{item['legacy_suffix']!r}),"
            )
            for child in item["children"]:
                children.append(
                    f"{indent}({item['name']!r}, {child['name']!r}, {child['directory']!r}, "
                    f"{child['suffix']!r}, {child['unique_id']!r}, {child['xml_element']!r}, "
                    f"{child['addressable']!r}),"
                )
        return rows, children

    rows, children = rows_of(data, "    ")
    preset_lines = []
    for name, items in presets.items():
        preset_rows, preset_children = rows_of(items, "        ")
        preset_lines.append(
            f"    {name!r}: (\n        (\n"
            + "\n".join("    " + r for r in preset_rows)
            + "\n        ),\n        (\n"
            + "\n".join("    " + c for c in preset_children)
            + "\n        ),\n    ),"
        )
    TARGET.write_text(
        '"""Generated by benchmarks/generate_metadata_registry.py from source-deploy-retrieve\'s\n'
        "metadataRegistry.json and its presets: do not edit by hand.\n\n"
        "TYPES rows: (name, kind, directory, suffix, flags (S strict directory, F in folder),\n"
        "folder type or folder content type, legacy suffix).\n"
        "CHILDREN rows: (parent, name, directory, suffix, unique id element, xml element,\n"
        "addressable).\n"
        "PRESETS: sfdx-project.json `sourceBehaviorOptions` → the TYPES and CHILDREN rows that\n"
        "replace the registry's for the types the option changes.\n"
        '"""\n\n'
        "# ruff: noqa: E501\n"
        "# fmt: off\n"
        "TYPES: tuple[tuple[str, str, str, str, str, str, str], ...] = (\n"
        + "\n".join(rows)
        + "\n)\n\nCHILDREN: tuple[tuple[str, str, str, str, str, str, bool], ...] = (\n"
        + "\n".join(children)
        + "\n)\n\nPRESETS: dict[\n    str,\n    tuple[\n"
        "        tuple[tuple[str, str, str, str, str, str, str], ...],\n"
        "        tuple[tuple[str, str, str, str, str, str, bool], ...],\n    ],\n] = {\n"
        + "\n".join(preset_lines)
        + "\n}\n# fmt: on\n"
    )
    print(f"{len(data)} types written to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
