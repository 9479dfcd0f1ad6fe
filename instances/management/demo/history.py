"""The demo repository's history: which commit writes which of the demo project's files.

The files are data next to this module (README.md there says how they are laid out);
`seed_demo` turns each `DemoCommit` into a git commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent

PARIS = timezone(timedelta(hours=1))
NEW_YORK = timezone(timedelta(hours=-5))
BANGALORE = timezone(timedelta(hours=5, minutes=30))
LONDON = UTC

ALICE = "Alice Martin <alice.martin@acme.example>"
BOB = "Bob Chen <bob.chen@acme.example>"
PRIYA = "Priya Raman <priya.raman@acme.example>"
DANA = "Dana Kowalski <dana.kowalski@acme.example>"

ZONES = {ALICE: PARIS, BOB: NEW_YORK, PRIYA: BANGALORE, DANA: LONDON}

SRC = "force-app/main/default"
CLASSES = f"{SRC}/classes"
INVOICE = f"{SRC}/objects/Invoice__c"
PAYMENT = f"{SRC}/objects/Payment__c"
LWC = f"{SRC}/lwc"
PERMSET = f"{SRC}/permissionsets/Invoice_Manager.permissionset-meta.xml"
LAYOUT = f"{SRC}/layouts/Invoice__c-Invoice Layout.layout-meta.xml"
SERVICE = f"{CLASSES}/InvoiceService.cls"
SUMMARY_HTML = f"{LWC}/invoiceSummary/invoiceSummary.html"

# A file whose name starts with a dot is stored as "dot-<name>": a .gitignore in the data
# would otherwise change what this repository ignores.
DOT = "dot-"


@dataclass(frozen=True)
class DemoCommit:
    message: str
    author: str
    days_ago: int  # before the day the seed runs, so the demo always looks recent
    at: str  # local time of day in the author's time zone, "HH:MM"
    files: dict[str, str]  # path in the demo repository -> data file, relative to HERE

    @property
    def changes(self) -> dict[str, bytes | None]:
        return {path: (HERE / data).read_bytes() for path, data in self.files.items()}


def on_disk(path: str) -> str:
    """Where the data keeps the file at `path` of the demo repository (see DOT)."""
    folder, _, name = path.rpartition("/")
    if name.startswith("."):
        name = DOT + name[1:]
    return f"{folder}/{name}" if folder else name


def _from(folder: str, *paths: str) -> dict[str, str]:
    return {path: f"{folder}/{on_disk(path)}" for path in paths}


def _project(*paths: str) -> dict[str, str]:
    """Files as main's head has them (project/)."""
    return _from("project", *paths)


def _earlier(path: str, name: str) -> dict[str, str]:
    """A version of `path` that a later commit of main changes (earlier/)."""
    return {path: f"earlier/{name}"}


def _classes(*names: str) -> tuple[str, ...]:
    return tuple(f"{CLASSES}/{name}{ext}" for name in names for ext in (".cls", ".cls-meta.xml"))


def _fields(custom_object: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{custom_object}/fields/{name}.field-meta.xml" for name in names)


def apex_class(name: str, source: str) -> dict[str, bytes | None]:
    """An Apex class and its meta file, written as the demo project writes them."""
    meta = (HERE / "project" / f"{CLASSES}/InvoiceSelector.cls-meta.xml").read_bytes()
    return {
        f"{CLASSES}/{name}.cls": (source.strip("\n") + "\n").encode(),
        f"{CLASSES}/{name}.cls-meta.xml": meta,
    }


MAIN_HISTORY: tuple[DemoCommit, ...] = (
    DemoCommit(
        "Initial Salesforce DX project",
        DANA,
        34,
        "09:12",
        _project(
            "sfdx-project.json",
            ".forceignore",
            ".gitignore",
            "config/project-scratch-def.json",
            "README.md",
        ),
    ),
    DemoCommit(
        "Add Invoice object",
        ALICE,
        32,
        "14:47",
        _project(
            f"{INVOICE}/Invoice__c.object-meta.xml",
            *_fields(
                INVOICE, "Account__c", "Amount__c", "Status__c", "Issue_Date__c", "Due_Date__c"
            ),
            f"{INVOICE}/listViews/All.listView-meta.xml",
        ),
    ),
    DemoCommit(
        "Invoice validation rules and Overdue list view",
        ALICE,
        29,
        "11:05",
        _project(
            f"{INVOICE}/validationRules/Amount_Must_Be_Positive.validationRule-meta.xml",
            f"{INVOICE}/validationRules/Due_Date_After_Issue_Date.validationRule-meta.xml",
            f"{INVOICE}/listViews/Overdue_Invoices.listView-meta.xml",
        ),
    ),
    DemoCommit(
        "Invoice page layout and Invoice Manager permission set",
        PRIYA,
        27,
        "16:20",
        {
            **_earlier(LAYOUT, "Invoice__c-Invoice Layout.without-paid-on.layout-meta.xml"),
            **_earlier(PERMSET, "Invoice_Manager.without-paid-on.permissionset-meta.xml"),
        },
    ),
    DemoCommit(
        "Add InvoiceSelector",
        BOB,
        24,
        "10:31",
        _project(*_classes("InvoiceSelector", "InvoiceSelectorTest")),
    ),
    DemoCommit(
        "Invoice service: outstanding totals and overdue marking",
        BOB,
        21,
        "15:58",
        {
            **_project(f"{SERVICE}-meta.xml", *_classes("InvoiceServiceTest")),
            **_earlier(SERVICE, "InvoiceService.without-summary.cls"),
        },
    ),
    DemoCommit(
        "Invoice trigger: default the dates, stamp the payment date",
        ALICE,
        17,
        "09:44",
        {
            **_project(
                f"{SRC}/triggers/InvoiceTrigger.trigger",
                f"{SRC}/triggers/InvoiceTrigger.trigger-meta.xml",
                *_classes("InvoiceTriggerHandler", "InvoiceTriggerHandlerTest"),
                *_fields(INVOICE, "Paid_On__c"),
                LAYOUT,
            ),
            **_earlier(PERMSET, "Invoice_Manager.without-class-access.permissionset-meta.xml"),
        },
    ),
    DemoCommit(
        "invoiceSummary card on the account page",
        PRIYA,
        13,
        "12:16",
        {
            **_project(
                f"{LWC}/invoiceSummary/invoiceSummary.js",
                f"{LWC}/invoiceSummary/invoiceSummary.js-meta.xml",
                PERMSET,
            ),
            **_earlier(SUMMARY_HTML, "invoiceSummary.without-badge.html"),
            **_earlier(SERVICE, "InvoiceService.without-overdue-list.cls"),
        },
    ),
    DemoCommit(
        "overdueInvoices list for the home page",
        BOB,
        9,
        "17:03",
        {
            **_project(
                f"{LWC}/overdueInvoices/overdueInvoices.js",
                f"{LWC}/overdueInvoices/overdueInvoices.html",
                f"{LWC}/overdueInvoices/overdueInvoices.js-meta.xml",
            ),
            **_earlier(SERVICE, "InvoiceService.without-rounding.cls"),
        },
    ),
    DemoCommit(
        "invoiceStatusBadge; show the overdue count in the summary card",
        PRIYA,
        6,
        "10:39",
        _project(
            f"{LWC}/invoiceStatusBadge/invoiceStatusBadge.js",
            f"{LWC}/invoiceStatusBadge/invoiceStatusBadge.html",
            f"{LWC}/invoiceStatusBadge/invoiceStatusBadge.js-meta.xml",
            SUMMARY_HTML,
        ),
    ),
    DemoCommit(
        "Hotfix: round outstanding totals half-up to the cent",
        DANA,
        3,
        "08:25",
        _project(SERVICE),
    ),
)

# On top of main's head: what the long-term branch adds or changes (release-2027-q1/).
LONG_TERM_HISTORY: tuple[DemoCommit, ...] = (
    DemoCommit(
        "Q1: Payment object; move to API 63.0",
        ALICE,
        2,
        "11:50",
        _from(
            "release-2027-q1",
            "sfdx-project.json",
            f"{PAYMENT}/Payment__c.object-meta.xml",
            *_fields(PAYMENT, "Invoice__c", "Amount__c", "Received_On__c"),
        ),
    ),
    DemoCommit(
        "Q1: PaymentService marks covered invoices paid",
        BOB,
        1,
        "16:12",
        _from("release-2027-q1", *_classes("PaymentService", "PaymentServiceTest")),
    ),
)
