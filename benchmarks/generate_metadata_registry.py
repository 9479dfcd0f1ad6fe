"""Generate ``branching/metadata/registry_data.py`` from Salesforce's metadata registry.

The source of truth is source-deploy-retrieve's ``src/registry/metadataRegistry.json``
(forcedotcom/source-deploy-retrieve; the npm package ships it as
``lib/src/registry/metadataRegistry.json``). This script is run by hand when the registry
moves, never at run time:

    .venv/bin/python benchmarks/generate_metadata_registry.py \
        /tmp/refs/node_modules/@salesforce/source-deploy-retrieve/lib/src/registry/metadataRegistry.json

Which types are kept: every type SDR converts without a special strategy (a single XML file,
or a content file plus its ``-meta.xml``), and the types whose strategies
``branching.metadata`` implements (bundles, static resources, documents, experience bundles,
folders, decomposed custom objects and object translations, custom labels). Types SDR
converts with strategies we do not implement (decomposed permission sets, digital
experiences, workflows kept whole but diffed element by element by sfdx-git-delta, …) are
left out, so that their files are reported as unsupported rather than packaged wrongly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "branching" / "metadata" / "registry_data.py"

# Types sfdx-git-delta handles with a handler we do not reproduce (its typeHandlerFactory.js):
# they keep SDR's file layout but sgd diffs them element by element, so they stay out.
SGD_SPECIAL = {
    "AssignmentRules",
    "AutoResponseRules",
    "EscalationRules",
    "MarketingAppExtension",
    "MatchingRules",
    "SharingRules",
    "Workflow",
    "Territory2Model",
    "Territory2",
    "Territory2Rule",
    "Bot",
    "GlobalValueSetTranslation",
    "StandardValueSetTranslation",
    "GenAiFunction",
    "GenAiPlannerBundle",
    "LightningTypeBundle",
    "WaveTemplateBundle",
    "DigitalExperienceBundle",
}
# Complex strategies implemented by branching.metadata.
IMPLEMENTED = {
    "LightningComponentBundle",
    "AuraDefinitionBundle",
    "StaticResource",
    "Document",
    "DocumentFolder",
    "ExperienceBundle",
    "EmailTemplate",
    "EmailFolder",
    "Report",
    "ReportFolder",
    "Dashboard",
    "DashboardFolder",
    "CustomObject",
    "CustomObjectTranslation",
    "CustomLabels",
}


def _kind(entry: dict) -> str | None:
    strategies = entry.get("strategies") or {}
    adapter = strategies.get("adapter")
    name = entry["name"]
    if name in SGD_SPECIAL:
        return None
    if name in ("LightningComponentBundle", "AuraDefinitionBundle"):
        return "bundle"
    if name == "CustomLabels":
        return "labels"
    if name in ("CustomObject", "CustomObjectTranslation"):
        return "decomposed"
    if adapter == "mixedContent":
        return "mixed"
    if entry.get("folderContentType"):
        return "folder"
    if adapter == "matchingContentFile":
        return "content"
    if adapter in (None, "default") and not entry.get("children") and not strategies:
        return "file"
    return None


def _child(entry: dict) -> dict:
    return {
        "name": entry["name"],
        "directory": entry.get("directoryName", ""),
        "suffix": entry.get("suffix", ""),
        "unique_id": entry.get("uniqueIdElement", ""),
        "xml_element": entry.get("xmlElementName", ""),
        "addressable": entry.get("isAddressable", True),
    }


def generate(registry: dict) -> dict:
    types = registry["types"]
    out: dict[str, dict] = {}
    for entry in types.values():
        kind = _kind(entry)
        if kind is None:
            continue
        complex_kind = kind in ("bundle", "decomposed", "labels", "mixed", "folder")
        if (complex_kind or entry.get("inFolder")) and entry["name"] not in IMPLEMENTED:
            continue
        folder_type = entry.get("folderType")
        folder_content = entry.get("folderContentType")
        item = {
            "name": entry["name"],
            "kind": kind,
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
    rows = []
    children = []
    for item in data.values():
        flags = ("S" if item["strict_directory"] else "") + ("F" if item["in_folder"] else "")
        rows.append(
            f"    ({item['name']!r}, {item['kind']!r}, {item['directory']!r}, {item['suffix']!r}, "
            f"{flags!r}, {item['folder_type'] or item['folder_content_type']!r}, "
            f"{item['legacy_suffix']!r}),"
        )
        for child in item["children"]:
            children.append(
                f"    ({item['name']!r}, {child['name']!r}, {child['directory']!r}, "
                f"{child['suffix']!r}, {child['unique_id']!r}, {child['xml_element']!r}, "
                f"{child['addressable']!r}),"
            )
    TARGET.write_text(
        '"""Generated by benchmarks/generate_metadata_registry.py from source-deploy-retrieve\'s\n'
        "metadataRegistry.json: do not edit by hand.\n\n"
        "TYPES rows: (name, kind, directory, suffix, flags (S strict directory, F in folder),\n"
        "folder type or folder content type, legacy suffix).\n"
        "CHILDREN rows: (parent, name, directory, suffix, unique id element, xml element,\n"
        "addressable).\n"
        '"""\n\n'
        "# ruff: noqa: E501\n"
        "# fmt: off\n"
        "TYPES: tuple[tuple[str, str, str, str, str, str, str], ...] = (\n"
        + "\n".join(rows)
        + "\n)\n\nCHILDREN: tuple[tuple[str, str, str, str, str, str, bool], ...] = (\n"
        + "\n".join(children)
        + "\n)\n# fmt: on\n"
    )
    print(f"{len(data)} types written to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
