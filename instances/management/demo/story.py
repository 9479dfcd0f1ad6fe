"""The demo story's script: its features, the order they travel up and down the hierarchy,
and the few turns it takes; `seed_demo` plays it through the real engine (`_demo_story`)."""

from __future__ import annotations

from dataclasses import dataclass

from instances.management.demo.history import ALICE, BOB, apex_class


@dataclass(frozen=True)
class StoryFeature:
    key: str
    title: str
    owner: str  # username
    author: str  # git identity of its commits
    start_in: str  # instance it is started from
    files: dict[str, bytes | None]


def story_class(name: str, *lines: str) -> dict[str, bytes | None]:
    """An Apex class and its meta file, written as the seeded project writes them."""
    body = "\n".join([f"public with sharing class {name} {{", *(f"    {x}" for x in lines), "}"])
    return apex_class(name, body)


FEATURES = (
    StoryFeature(
        "RM-101",
        "Invoice PDF footer",
        "developer",
        ALICE,
        "Dev Alice",
        story_class("InvoiceFooter", "public static String text() { return 'Acme Ltd'; }"),
    ),
    StoryFeature(
        "RM-102",
        "Tax rounding per country",
        "developer",
        BOB,
        "Dev Bob",
        story_class("TaxRounding", "public static Integer scale(String c) { return 2; }"),
    ),
    StoryFeature(
        "RM-103",
        "Customer portal banner",
        "developer",
        BOB,
        "Dev Bob",
        story_class("PortalBanner", "public static String message() { return ''; }"),
    ),
    StoryFeature(
        "RM-104",
        "Credit note approvals",
        "developer",
        ALICE,
        "Dev Alice",
        story_class("CreditNoteApproval", "public static Boolean needed() { return true; }"),
    ),
    StoryFeature(
        "RM-105",
        "Dunning emails",
        "developer",
        ALICE,
        "Dev Alice",
        story_class(
            "InvoiceDefaults",
            "public static final Integer DUE_DAYS = 30;",
            "public static final String DUNNING_TEMPLATE = 'Dunning_Reminder';",
        ),
    ),
    StoryFeature(
        "RM-106",
        "Late fee calculation",
        "developer",
        ALICE,
        "Dev Alice",
        story_class("LateFee", "public static Decimal rate() { return 0.02; }"),
    ),
    StoryFeature(
        "RM-107",
        "Payment terms picklist",
        "developer",
        BOB,
        "Dev Bob",
        story_class(
            "PaymentTerms",
            "public static List<String> all() {",
            "    return new List<String>{'NET30', 'NET60'};",
            "}",
        ),
    ),
    StoryFeature(
        "RM-108",
        "Invoice number format",
        "developer",
        BOB,
        "Dev Bob",
        story_class(
            "InvoiceDefaults",
            "public static final Integer DUE_DAYS = 45;",
            "public static final String NUMBER_FORMAT = 'INV-{0000}';",
        ),
    ),
    StoryFeature(
        "RM-109",
        "Account health score",
        "developer",
        ALICE,
        "Dev Alice",
        story_class(
            "AccountHealth",
            "public static Decimal score(Id a) {",
            "    return [SELECT Health_Score__c FROM Account WHERE Id = :a].Health_Score__c;",
            "}",
        ),
    ),
    StoryFeature("RM-110", "Currency on invoices", "developer", ALICE, "Dev Alice", {}),
    StoryFeature(
        "RM-111",
        "Quote sync",
        "developer",
        BOB,
        "Dev Bob",
        story_class("QuoteSync", "public static void run() {}"),
    ),
    StoryFeature(
        "RM-112",
        "VAT label on invoices",
        "developer",
        ALICE,
        "Dev Alice",
        story_class("VatLabel", "public static String text() { return 'VAT'; }"),
    ),
)

# (days ago, feature keys, target, requester): in this order, through the real engine.
JOURNEY: tuple[tuple[float, tuple[str, ...], str, str], ...] = (
    (27, ("RM-101",), "Dev Alice", "developer"),
    (26, ("RM-101",), "Integration", "developer"),
    (25, ("RM-102",), "Dev Bob", "developer"),
    (24, ("RM-102",), "Integration", "developer"),
    (23, ("RM-101", "RM-102"), "QA", "release-manager"),
    (21, ("RM-101", "RM-102"), "UAT", "developer"),
    (19, ("RM-101", "RM-102"), "Production", "release-manager"),
    (18, ("RM-102",), "Dev Alice", "developer"),  # back promotion from Integration
    (14, ("RM-103",), "Dev Bob", "developer"),
    (13, ("RM-103",), "Integration", "developer"),
    (12, ("RM-101",), "Dev Bob", "developer"),  # back promotion from Integration
    (11, ("RM-104",), "Dev Alice", "developer"),
    (10, ("RM-104",), "Integration", "developer"),
    (9, ("RM-103", "RM-104"), "QA", "release-manager"),
    (8, ("RM-103",), "UAT", "developer"),
    (7, ("RM-107",), "Dev Bob", "developer"),
    (6, ("RM-107",), "Integration", "developer"),
    (5, ("RM-107",), "QA", "developer"),
    (4, ("RM-105",), "Dev Alice", "developer"),
    (3.5, ("RM-105",), "Integration", "developer"),
    (3, ("RM-106",), "Dev Alice", "developer"),
    (2.5, ("RM-108",), "Dev Bob", "developer"),
    (2, ("RM-109",), "Dev Alice", "developer"),
    (1.5, ("RM-112",), "Dev Alice", "developer"),
    (1.25, ("RM-109",), "Integration", "developer"),
    (1, ("RM-111",), "Dev Bob", "developer"),
)
# Promotions into these need a release manager other than the requester: the story approves
# them half an hour after the request.
APPROVED_BY = "release-manager"
# The one rollback: RM-103's promotion into UAT, undone this many days ago.
ROLLED_BACK = (("RM-103",), "UAT", 7.5)
# The instance whose org is the demo's simulated org, and the feature its validation refuses
# (AccountHealth reads a field the org lacks: demo.REFUSED).
SIMULATED = "QA"
REFUSED_FEATURE = "RM-109"
