"""Element-by-element comparison of files that hold many components (sgd's MetadataDiff).

A profile, a translation file or the custom labels file changes a few elements at a time;
sfdx-git-delta deploys only what changed: it lists the changed labels as CustomLabel members
and writes a *pruned* copy of the file holding just the changed elements (and the elements
it cannot compare). We do the same, with the same keys, so the files agree byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from branching.metadata import xmljs

# xmlTag → (member type, key element, excluded from package.xml): sgd's in-file attributes
# (lib/metadata/v65.js, gathered by getInFileAttributes into one map by tag, the later
# definition of a tag winning) for the types sgd diffs in file: CustomLabels, Profile,
# Translations, CustomObjectTranslation, Workflow, SharingRules, AssignmentRules,
# AutoResponseRules, EscalationRules, MatchingRules, MarketingAppExtension and the value set
# translations.
ARRAY_KEY = "<array>"
OBJECT_KEY = "<object>"
IN_FILE_TAGS: dict[str, tuple[str, str, bool]] = {
    "labels": ("CustomLabel", "fullName", False),
    "marketingAppExtActivities": ("MarketingAppExtActivity", "fullName", False),
    "alerts": ("WorkflowAlert", "fullName", False),
    "fieldUpdates": ("WorkflowFieldUpdate", "fullName", False),
    "flowActions": ("WorkflowFlowAction", "fullName", False),
    "outboundMessages": ("WorkflowOutboundMessage", "fullName", False),
    "rules": ("WorkflowRule", "fullName", False),
    "knowledgePublishes": ("WorkflowKnowledgePublish", "fullName", False),
    "tasks": ("WorkflowTask", "fullName", False),
    "send": ("WorkflowSend", "fullName", False),
    "sharingCriteriaRules": ("SharingCriteriaRule", "fullName", False),
    "sharingGuestRules": ("SharingGuestRule", "fullName", False),
    "sharingOwnerRules": ("SharingOwnerRule", "fullName", False),
    "sharingTerritoryRules": ("SharingTerritoryRule", "fullName", False),
    "assignmentRule": ("AssignmentRule", "fullName", False),
    "autoResponseRule": ("AutoResponseRule", "fullName", False),
    "escalationRule": ("EscalationRule", "fullName", False),
    "matchingRules": ("MatchingRule", "fullName", False),
    "valueTranslation": ("ValueTranslation", "masterLabel", True),
    "categoryGroupVisibilities": ("ProfileApplicationVisibility", "dataCategoryGroup", True),
    "applicationVisibilities": ("ProfileCategoryGroupVisibility", "application", True),
    "classAccesses": ("ProfileApexClassAccess", "apexClass", True),
    "customMetadataTypeAccesses": ("ProfileCustomMetadataTypeAccess", "name", True),
    "customPermissions": ("ProfileCustomPermissions", "name", True),
    "customSettingAccesses": ("ProfileCustomSettingAccesses", "name", True),
    "externalDataSourceAccesses": ("ProfileExternalDataSourceAccess", "externalDataSource", True),
    "fieldPermissions": ("ProfileFieldLevelSecurity", "field", True),
    "flowAccesses": ("ProfileFlowAccess", "flow", True),
    "loginFlows": ("LoginFlow", "friendlyname", True),
    "layoutAssignments": ("ProfileLayoutAssignments", OBJECT_KEY, True),
    "loginHours": ("ProfileLoginHours", ARRAY_KEY, True),
    "loginIpRanges": ("ProfileLoginIpRange", ARRAY_KEY, True),
    "objectPermissions": ("ProfileObjectPermissions", "object", True),
    "pageAccesses": ("ProfileApexPageAccess", "apexPage", True),
    "profileActionOverrides": ("ProfileActionOverride", "actionName", True),
    "recordTypeVisibilities": ("ProfileRecordTypeVisibility", "recordType", True),
    "tabVisibilities": ("ProfileTabVisibility", "tab", True),
    "userPermissions": ("ProfileUserPermission", "name", True),
    "bots": ("BotTranslation", "fullName", True),
    "customApplications": ("CustomApplicationTranslation", "name", True),
    "customLabels": ("CustomLabelTranslation", "name", True),
    "customPageWebLinks": ("CustomPageWebLinkTranslation", "name", True),
    "customTabs": ("CustomTabTranslation", "name", True),
    "flowDefinitions": ("FlowDefinitionTranslation", "fullName", True),
    "pipelineInspMetricConfigs": ("PipelineInspMetricConfigTranslation", "name", True),
    "prompts": ("PromptTranslation", "name", True),
    "quickActions": ("QuickActionTranslation", "name", True),
    "reportTypes": ("ReportTypeTranslation", "name", True),
    "scontrols": ("ScontrolTranslation", "name", True),
    "fields": ("CustomObjectTranslation", "name", True),
    "fieldSets": ("FieldSetTranslation", "name", True),
    "layouts": ("LayoutTranslation", "layout", True),
    "namedFilters": ("NamedFilterTranslation", "name", True),
    "recordTypes": ("RecordTypeTranslation", "name", True),
    "sharingReasons": ("SharingReasonTranslation", "name", True),
    "validationRules": ("ValidationRuleTranslation", "name", True),
    "webLinks": ("WebLinkTranslation", "name", True),
    "workflowTasks": ("WorkflowTaskTranslation", "name", True),
}

Members = dict[str, set[str]]


@dataclass
class InFileDiff:
    """What changed inside one file between two commits."""

    added: Members = field(default_factory=dict)
    deleted: Members = field(default_factory=dict)
    pruned: bytes = b""
    empty: bool = True  # nothing in the pruned file differs from the old one


def _root(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for key, value in document.items():
        if key != "?xml":
            return key, value if isinstance(value, dict) else {}
    return "", {}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if value else []


def _key_of(element: Any, key: str) -> Any:
    return element.get(key) if isinstance(element, dict) else None


def _members(base: dict[str, Any], target: dict[str, Any], added: bool) -> Members:
    found: Members = {}
    for tag in list(base):
        spec = IN_FILE_TAGS.get(tag)
        if spec is None or spec[2]:
            continue
        member_type, key, _ = spec
        base_items = _as_list(base[tag])
        target_items = _as_list(target.get(tag))
        for element in base_items:
            name = _key_of(element, key)
            match = next((t for t in target_items if _key_of(t, key) == name), None)
            changed = (match is None or match != element) if added else match is None
            if changed and isinstance(name, str):
                found.setdefault(member_type, set()).add(name)
    return found


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def compare(old: bytes | None, new: bytes | None) -> InFileDiff:
    """Compare one file at two commits (None: absent) the way sgd's MetadataDiff does."""
    old_doc = xmljs.parse(old, xmljs.SGD) if old else {}
    new_doc = xmljs.parse(new, xmljs.SGD) if new else {}
    _, old_root = _root(old_doc)
    root_key, new_root = _root(new_doc)
    diff = InFileDiff(
        added=_members(new_root, old_root, added=True),
        deleted=_members(old_root, new_root, added=False),
    )
    pruned_root: dict[str, Any] = {}
    empty = True
    for tag, value in new_root.items():
        if tag.startswith(xmljs.ATTR):
            pruned_root[tag] = value
            continue
        old_items = _as_list(old_root.get(tag))
        new_items = _as_list(value)
        spec = IN_FILE_TAGS.get(tag)
        key = spec[1] if spec else None
        if not new_items:
            continue
        if not old_items:
            empty = False
            pruned_root[tag] = new_items
            continue
        if key is None:
            if old_items != new_items:
                empty = False
            pruned_root[tag] = new_items
            continue
        if key == ARRAY_KEY:
            part = [] if old_items == new_items else new_items
        elif key == OBJECT_KEY:
            seen = {_json(item) for item in old_items}
            part = [item for item in new_items if _json(item) not in seen]
        else:
            by_key = {_key_of(item, key): item for item in old_items}
            part = [
                item
                for item in new_items
                if _key_of(item, key) not in by_key or by_key[_key_of(item, key)] != item
            ]
        if empty:
            empty = not part
        if part:
            pruned_root[tag] = part
    document: dict[str, Any] = {}
    if "?xml" in new_doc:
        document["?xml"] = new_doc["?xml"]
    document[root_key] = pruned_root
    diff.pruned = xmljs.sgd_document(document)
    diff.empty = empty
    return diff
