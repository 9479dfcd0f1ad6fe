# The long strings are the demo project's Apex, XML and JavaScript files, laid out as their
# authors would write them rather than to this repository's line length.
# ruff: noqa: E501
"""The demo repository's content: a small but real Salesforce DX invoicing project and its history.

Data only; `seed_demo` turns each `DemoCommit` into a git commit. The leading underscore keeps
Django from offering this module as a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta, timezone

API_VERSION = "62.0"
LONG_TERM_API_VERSION = "63.0"

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


@dataclass(frozen=True)
class DemoCommit:
    message: str
    author: str
    days_ago: int  # before the day the seed runs, so the demo always looks recent
    at: str  # local time of day in the author's time zone, "HH:MM"
    changes: dict[str, bytes | None]


def _xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body.strip() + "\n").encode()


def _text(body: str) -> bytes:
    return (body.strip("\n") + "\n").encode()


def _class_meta(api_version: str = API_VERSION) -> bytes:
    return _xml(f"""
<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>{api_version}</apiVersion>
    <status>Active</status>
</ApexClass>""")


def _apex(name: str, source: str, api_version: str = API_VERSION) -> dict[str, bytes | None]:
    return {
        f"{CLASSES}/{name}.cls": _text(source),
        f"{CLASSES}/{name}.cls-meta.xml": _class_meta(api_version),
    }


def _field(name: str, body: str) -> dict[str, bytes | None]:
    xml = _xml(f"""
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>{name}</fullName>
{body.strip(chr(10))}
</CustomField>""")
    return {f"{INVOICE}/fields/{name}.field-meta.xml": xml}


# --------------------------------------------------------------------------- project files

SFDX_PROJECT = _text(f"""
{{
  "packageDirectories": [
    {{
      "path": "force-app",
      "default": true
    }}
  ],
  "name": "acme-salesforce",
  "namespace": "",
  "sfdcLoginUrl": "https://login.salesforce.com",
  "sourceApiVersion": "{API_VERSION}"
}}
""")

FORCEIGNORE = _text("""
# Files the Salesforce CLI never deploys or retrieves.
# https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_exclude_source.htm

package.xml

# LWC configuration and tests
**/jsconfig.json
**/.eslintrc.json
**/__tests__/**

# Profiles are managed in production only; use permission sets.
**/profiles/**
""")

GITIGNORE = _text("""
.sf/
.sfdx/
.localdevserver/
node_modules/
coverage/
*.log
.DS_Store
""")

SCRATCH_DEF = _text("""
{
  "orgName": "Acme Invoicing",
  "edition": "Developer",
  "features": ["EnableSetPasswordInApi"],
  "settings": {
    "lightningExperienceSettings": {
      "enableS1DesktopEnabled": true
    },
    "mobileSettings": {
      "enableS1EncryptedStoragePref2": false
    }
  }
}
""")

README = _text("""
# Acme Salesforce

Invoicing on the Acme org: the `Invoice__c` object, its Apex services and the Lightning web
components on the account and home pages.

## Layout

- `force-app/main/default/objects/Invoice__c` — the invoice object, fields, list views and
  validation rules
- `force-app/main/default/classes` — `InvoiceSelector` (queries), `InvoiceService` (totals,
  overdue marking, LWC controllers), `InvoiceTriggerHandler`, and their tests
- `force-app/main/default/lwc` — `invoiceSummary`, `overdueInvoices`, `invoiceStatusBadge`
- `force-app/main/default/permissionsets/Invoice_Manager` — what finance users get

## Branches

Each org has a branch that mirrors what is deployed there: `main` (Production), `uat`, `qa`,
`integration`, and one per developer sandbox (`dev/<name>`). Do not push to them directly:
start a feature from your instance in releasemgr and promote it.

## Working locally

    sf org create scratch --definition-file config/project-scratch-def.json --alias invoicing
    sf project deploy start --target-org invoicing
    sf apex run test --target-org invoicing --test-level RunLocalTests --wait 10
""")

# --------------------------------------------------------------------------- Invoice__c

INVOICE_OBJECT = _xml("""
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <allowInChatterGroups>false</allowInChatterGroups>
    <compactLayoutAssignment>SYSTEM</compactLayoutAssignment>
    <deploymentStatus>Deployed</deploymentStatus>
    <description>An invoice sent to a customer account.</description>
    <enableActivities>true</enableActivities>
    <enableBulkApi>true</enableBulkApi>
    <enableFeeds>false</enableFeeds>
    <enableHistory>true</enableHistory>
    <enableLicensing>false</enableLicensing>
    <enableReports>true</enableReports>
    <enableSearch>true</enableSearch>
    <enableSharing>true</enableSharing>
    <enableStreamingApi>true</enableStreamingApi>
    <label>Invoice</label>
    <nameField>
        <displayFormat>INV-{000000}</displayFormat>
        <label>Invoice Number</label>
        <trackHistory>false</trackHistory>
        <type>AutoNumber</type>
    </nameField>
    <pluralLabel>Invoices</pluralLabel>
    <searchLayouts/>
    <sharingModel>ReadWrite</sharingModel>
    <visibility>Public</visibility>
</CustomObject>
""")

INVOICE_FIELDS: dict[str, bytes | None] = {
    **_field(
        "Account__c",
        """
    <deleteConstraint>Restrict</deleteConstraint>
    <description>The customer billed by this invoice.</description>
    <externalId>false</externalId>
    <label>Account</label>
    <referenceTo>Account</referenceTo>
    <relationshipLabel>Invoices</relationshipLabel>
    <relationshipName>Invoices</relationshipName>
    <required>true</required>
    <trackHistory>false</trackHistory>
    <trackTrending>false</trackTrending>
    <type>Lookup</type>""",
    ),
    **_field(
        "Amount__c",
        """
    <description>Total billed, tax included.</description>
    <externalId>false</externalId>
    <label>Amount</label>
    <precision>16</precision>
    <required>false</required>
    <scale>2</scale>
    <trackHistory>true</trackHistory>
    <trackTrending>false</trackTrending>
    <type>Currency</type>""",
    ),
    **_field(
        "Status__c",
        """
    <externalId>false</externalId>
    <label>Status</label>
    <required>false</required>
    <trackHistory>true</trackHistory>
    <trackTrending>false</trackTrending>
    <type>Picklist</type>
    <valueSet>
        <restricted>true</restricted>
        <valueSetDefinition>
            <sorted>false</sorted>
            <value>
                <fullName>Draft</fullName>
                <default>true</default>
                <label>Draft</label>
            </value>
            <value>
                <fullName>Sent</fullName>
                <default>false</default>
                <label>Sent</label>
            </value>
            <value>
                <fullName>Overdue</fullName>
                <default>false</default>
                <label>Overdue</label>
            </value>
            <value>
                <fullName>Paid</fullName>
                <default>false</default>
                <label>Paid</label>
            </value>
            <value>
                <fullName>Cancelled</fullName>
                <default>false</default>
                <label>Cancelled</label>
            </value>
        </valueSetDefinition>
    </valueSet>""",
    ),
    **_field(
        "Issue_Date__c",
        """
    <externalId>false</externalId>
    <label>Issue Date</label>
    <required>false</required>
    <trackHistory>false</trackHistory>
    <trackTrending>false</trackTrending>
    <type>Date</type>""",
    ),
    **_field(
        "Due_Date__c",
        """
    <externalId>false</externalId>
    <inlineHelpText>Defaults to 30 days after the issue date.</inlineHelpText>
    <label>Due Date</label>
    <required>false</required>
    <trackHistory>true</trackHistory>
    <trackTrending>false</trackTrending>
    <type>Date</type>""",
    ),
}

PAID_ON_FIELD = _field(
    "Paid_On__c",
    """
    <description>Set when the invoice is marked Paid.</description>
    <externalId>false</externalId>
    <label>Paid On</label>
    <required>false</required>
    <trackHistory>false</trackHistory>
    <trackTrending>false</trackTrending>
    <type>Date</type>""",
)

LIST_VIEW_ALL = _xml("""
<ListView xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>All</fullName>
    <columns>NAME</columns>
    <columns>Account__c</columns>
    <columns>Amount__c</columns>
    <columns>Status__c</columns>
    <columns>Due_Date__c</columns>
    <filterScope>Everything</filterScope>
    <label>All</label>
</ListView>
""")

LIST_VIEW_OVERDUE = _xml("""
<ListView xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Overdue_Invoices</fullName>
    <columns>NAME</columns>
    <columns>Account__c</columns>
    <columns>Amount__c</columns>
    <columns>Due_Date__c</columns>
    <filterScope>Everything</filterScope>
    <filters>
        <field>Status__c</field>
        <operation>equals</operation>
        <value>Overdue</value>
    </filters>
    <label>Overdue Invoices</label>
</ListView>
""")

RULE_POSITIVE = _xml("""
<ValidationRule xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Amount_Must_Be_Positive</fullName>
    <active>true</active>
    <description>An invoice bills a positive amount; credit notes are separate records.</description>
    <errorConditionFormula>Amount__c &lt;= 0</errorConditionFormula>
    <errorDisplayField>Amount__c</errorDisplayField>
    <errorMessage>The amount must be greater than zero.</errorMessage>
</ValidationRule>
""")

RULE_DUE_DATE = _xml("""
<ValidationRule xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Due_Date_After_Issue_Date</fullName>
    <active>true</active>
    <description>Payment cannot be due before the invoice is issued.</description>
    <errorConditionFormula>AND(
    NOT(ISBLANK(Due_Date__c)),
    NOT(ISBLANK(Issue_Date__c)),
    Due_Date__c &lt; Issue_Date__c
)</errorConditionFormula>
    <errorDisplayField>Due_Date__c</errorDisplayField>
    <errorMessage>The due date cannot be before the issue date.</errorMessage>
</ValidationRule>
""")


def _layout(with_paid_on: bool) -> bytes:
    paid_on = (
        """
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>Paid_On__c</field>
            </layoutItems>"""
        if with_paid_on
        else ""
    )
    return _xml(f"""
<Layout xmlns="http://soap.sforce.com/2006/04/metadata">
    <excludeButtons>Submit</excludeButtons>
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>true</editHeading>
        <label>Information</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>Name</field>
            </layoutItems>
            <layoutItems>
                <behavior>Required</behavior>
                <field>Account__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Status__c</field>
            </layoutItems>{paid_on}
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Amount__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Issue_Date__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Due_Date__c</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>true</editHeading>
        <label>System Information</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>CreatedById</field>
            </layoutItems>
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>LastModifiedById</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <showEmailCheckbox>false</showEmailCheckbox>
    <showHighlightsPanel>false</showHighlightsPanel>
    <showInteractionLogPanel>false</showInteractionLogPanel>
    <showRunAssignmentRulesCheckbox>false</showRunAssignmentRulesCheckbox>
    <showSubmitAndAttachButton>false</showSubmitAndAttachButton>
</Layout>""")


def _permission_set(classes: tuple[str, ...], fields: tuple[str, ...]) -> bytes:
    class_access = "".join(
        f"""
    <classAccesses>
        <apexClass>{name}</apexClass>
        <enabled>true</enabled>
    </classAccesses>"""
        for name in classes
    )
    field_permissions = "".join(
        f"""
    <fieldPermissions>
        <editable>{"false" if name == "Paid_On__c" else "true"}</editable>
        <field>Invoice__c.{name}</field>
        <readable>true</readable>
    </fieldPermissions>"""
        for name in fields
    )
    return _xml(f"""
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">{class_access}
    <description>Create, edit and send invoices; see every account's invoices.</description>{field_permissions}
    <hasActivationRequired>false</hasActivationRequired>
    <label>Invoice Manager</label>
    <objectPermissions>
        <allowCreate>true</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>true</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Invoice__c</object>
        <viewAllRecords>true</viewAllRecords>
    </objectPermissions>
</PermissionSet>""")


# Account__c is required, and Salesforce refuses field permissions on required fields.
_FIELDS = ("Amount__c", "Due_Date__c", "Issue_Date__c", "Status__c")

# --------------------------------------------------------------------------- Apex

INVOICE_SELECTOR = """
/**
 * Every query on Invoice__c, so that callers select the same fields and run in user mode.
 */
public inherited sharing class InvoiceSelector {
    public List<Invoice__c> selectByIds(Set<Id> invoiceIds) {
        return [
            SELECT Id, Name, Account__c, Amount__c, Status__c, Issue_Date__c, Due_Date__c
            FROM Invoice__c
            WHERE Id IN :invoiceIds
            WITH USER_MODE
        ];
    }

    public List<Invoice__c> selectOpenByAccountIds(Set<Id> accountIds) {
        return [
            SELECT Id, Name, Account__c, Amount__c, Status__c, Due_Date__c
            FROM Invoice__c
            WHERE Account__c IN :accountIds AND Status__c IN ('Sent', 'Overdue')
            WITH USER_MODE
            ORDER BY Due_Date__c
        ];
    }

    public List<Invoice__c> selectPastDue(Date asOf, Integer limitTo) {
        return [
            SELECT Id, Name, Account__c, Account__r.Name, Amount__c, Status__c, Due_Date__c
            FROM Invoice__c
            WHERE Status__c = 'Sent' AND Due_Date__c < :asOf
            WITH USER_MODE
            ORDER BY Due_Date__c
            LIMIT :limitTo
        ];
    }
}
"""

INVOICE_SELECTOR_TEST = """
@IsTest
private class InvoiceSelectorTest {
    @IsTest
    static void selectsOnlyOpenInvoicesOfTheGivenAccounts() {
        Account customer = new Account(Name = 'Selector Test Customer');
        Account other = new Account(Name = 'Someone Else');
        insert new List<Account>{ customer, other };
        insert new List<Invoice__c>{
            new Invoice__c(Account__c = customer.Id, Amount__c = 10, Status__c = 'Sent'),
            new Invoice__c(Account__c = customer.Id, Amount__c = 20, Status__c = 'Draft'),
            new Invoice__c(Account__c = other.Id, Amount__c = 30, Status__c = 'Sent')
        };

        List<Invoice__c> open = new InvoiceSelector().selectOpenByAccountIds(new Set<Id>{ customer.Id });

        Assert.areEqual(1, open.size(), 'Drafts and other accounts are not selected');
        Assert.areEqual(10, open[0].Amount__c);
    }
}
"""

_SERVICE_HEAD = """
/**
 * What finance needs from invoices: outstanding totals per account and overdue marking.
 */
public with sharing class InvoiceService {
    public static final String STATUS_SENT = 'Sent';
    public static final String STATUS_OVERDUE = 'Overdue';
    public static final String STATUS_PAID = 'Paid';

    private final InvoiceSelector selector;

    public InvoiceService() {
        this(new InvoiceSelector());
    }

    @TestVisible
    private InvoiceService(InvoiceSelector selector) {
        this.selector = selector;
    }

    /** Outstanding amount per account (sent and overdue invoices), zero when nothing is open. */
    public Map<Id, Decimal> outstandingByAccount(Set<Id> accountIds) {
        Map<Id, Decimal> totals = new Map<Id, Decimal>();
        for (Id accountId : accountIds) {
            totals.put(accountId, 0);
        }
        for (Invoice__c invoice : selector.selectOpenByAccountIds(accountIds)) {
            totals.put(invoice.Account__c, totals.get(invoice.Account__c) + invoice.Amount__c);
        }
"""

_SERVICE_ROUNDING = """        for (Id accountId : totals.keySet()) {
            totals.put(accountId, totals.get(accountId).setScale(2, RoundingMode.HALF_UP));
        }
"""

_SERVICE_MARK_OVERDUE = """        return totals;
    }

    /** Marks sent invoices past their due date as overdue; returns how many changed. */
    public Integer markOverdue(Date asOf) {
        List<Invoice__c> pastDue = selector.selectPastDue(asOf, 2000);
        for (Invoice__c invoice : pastDue) {
            invoice.Status__c = STATUS_OVERDUE;
        }
        update as user pastDue;
        return pastDue.size();
    }
"""

_SERVICE_SUMMARY = """
    /** The account page card (invoiceSummary): outstanding amount, open and overdue counts. */
    @AuraEnabled(cacheable=true)
    public static Map<String, Object> getSummary(Id accountId) {
        List<Invoice__c> open = new InvoiceSelector().selectOpenByAccountIds(new Set<Id>{ accountId });
        Decimal outstanding = 0;
        Integer overdue = 0;
        for (Invoice__c invoice : open) {
            outstanding += invoice.Amount__c;
            if (invoice.Status__c == STATUS_OVERDUE) {
                overdue++;
            }
        }
        return new Map<String, Object>{
            'outstanding' => outstanding,
            'openCount' => open.size(),
            'overdueCount' => overdue
        };
    }
"""

_SERVICE_OVERDUE_LIST = """
    /** The home page list (overdueInvoices). */
    @AuraEnabled(cacheable=true)
    public static List<Invoice__c> getOverdueInvoices(Integer limitTo) {
        Integer rows = limitTo == null ? 50 : Math.min(Math.max(limitTo, 1), 200);
        return new InvoiceSelector().selectPastDue(Date.today().addDays(1), rows);
    }
"""


def invoice_service(*, summary: bool, overdue_list: bool, rounding: bool) -> str:
    return (
        _SERVICE_HEAD
        + (_SERVICE_ROUNDING if rounding else "")
        + _SERVICE_MARK_OVERDUE
        + (_SERVICE_SUMMARY if summary else "")
        + (_SERVICE_OVERDUE_LIST if overdue_list else "")
        + "}\n"
    )


INVOICE_SERVICE_TEST = """
@IsTest
private class InvoiceServiceTest {
    @TestSetup
    static void makeData() {
        Account acme = new Account(Name = 'Acme Test Customer');
        insert acme;
        insert new List<Invoice__c>{
            new Invoice__c(
                Account__c = acme.Id,
                Amount__c = 1200.00,
                Status__c = 'Sent',
                Issue_Date__c = Date.today().addDays(-40),
                Due_Date__c = Date.today().addDays(-10)
            ),
            new Invoice__c(
                Account__c = acme.Id,
                Amount__c = 300.50,
                Status__c = 'Sent',
                Issue_Date__c = Date.today(),
                Due_Date__c = Date.today().addDays(30)
            ),
            new Invoice__c(
                Account__c = acme.Id,
                Amount__c = 99.99,
                Status__c = 'Paid',
                Issue_Date__c = Date.today().addDays(-60),
                Due_Date__c = Date.today().addDays(-30)
            )
        };
    }

    @IsTest
    static void outstandingCountsSentAndOverdueInvoicesOnly() {
        Account acme = [SELECT Id FROM Account LIMIT 1];

        Test.startTest();
        Map<Id, Decimal> totals = new InvoiceService().outstandingByAccount(new Set<Id>{ acme.Id });
        Test.stopTest();

        Assert.areEqual(1500.50, totals.get(acme.Id), 'Paid invoices are not outstanding');
    }

    @IsTest
    static void markOverdueOnlyTouchesInvoicesPastTheirDueDate() {
        Test.startTest();
        Integer changed = new InvoiceService().markOverdue(Date.today());
        Test.stopTest();

        Assert.areEqual(1, changed);
        Assert.areEqual(1, [SELECT COUNT() FROM Invoice__c WHERE Status__c = 'Overdue']);
    }
}
"""

INVOICE_TRIGGER_HANDLER = """
/**
 * Keeps invoice dates and statuses consistent, whatever created or changed the record.
 */
public with sharing class InvoiceTriggerHandler {
    public static final Integer DEFAULT_PAYMENT_TERMS_DAYS = 30;

    public void beforeInsert(List<Invoice__c> invoices) {
        for (Invoice__c invoice : invoices) {
            if (invoice.Issue_Date__c == null) {
                invoice.Issue_Date__c = Date.today();
            }
            if (invoice.Due_Date__c == null) {
                invoice.Due_Date__c = invoice.Issue_Date__c.addDays(DEFAULT_PAYMENT_TERMS_DAYS);
            }
            if (String.isBlank(invoice.Status__c)) {
                invoice.Status__c = 'Draft';
            }
        }
    }

    public void beforeUpdate(List<Invoice__c> invoices, Map<Id, Invoice__c> oldInvoices) {
        for (Invoice__c invoice : invoices) {
            Invoice__c previous = oldInvoices.get(invoice.Id);
            Boolean justPaid = invoice.Status__c == InvoiceService.STATUS_PAID
                && previous.Status__c != InvoiceService.STATUS_PAID;
            if (justPaid && invoice.Paid_On__c == null) {
                invoice.Paid_On__c = Date.today();
            }
        }
    }
}
"""

INVOICE_TRIGGER_HANDLER_TEST = """
@IsTest
private class InvoiceTriggerHandlerTest {
    @IsTest
    static void insertDefaultsTheDatesAndStatus() {
        Account customer = new Account(Name = 'Trigger Test Customer');
        insert customer;
        Invoice__c invoice = new Invoice__c(Account__c = customer.Id, Amount__c = 50);

        insert invoice;

        invoice = [SELECT Issue_Date__c, Due_Date__c, Status__c FROM Invoice__c WHERE Id = :invoice.Id];
        Assert.areEqual(Date.today(), invoice.Issue_Date__c);
        Assert.areEqual(
            Date.today().addDays(InvoiceTriggerHandler.DEFAULT_PAYMENT_TERMS_DAYS),
            invoice.Due_Date__c
        );
        Assert.areEqual('Draft', invoice.Status__c);
    }

    @IsTest
    static void payingAnInvoiceStampsThePaymentDate() {
        Account customer = new Account(Name = 'Trigger Test Customer');
        insert customer;
        Invoice__c invoice = new Invoice__c(Account__c = customer.Id, Amount__c = 50, Status__c = 'Sent');
        insert invoice;

        invoice.Status__c = 'Paid';
        update invoice;

        invoice = [SELECT Paid_On__c FROM Invoice__c WHERE Id = :invoice.Id];
        Assert.areEqual(Date.today(), invoice.Paid_On__c);
    }
}
"""

INVOICE_TRIGGER = _text("""
trigger InvoiceTrigger on Invoice__c (before insert, before update) {
    InvoiceTriggerHandler handler = new InvoiceTriggerHandler();
    if (Trigger.isInsert) {
        handler.beforeInsert(Trigger.new);
    } else if (Trigger.isUpdate) {
        handler.beforeUpdate(Trigger.new, Trigger.oldMap);
    }
}
""")

INVOICE_TRIGGER_META = _xml(f"""
<ApexTrigger xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>{API_VERSION}</apiVersion>
    <status>Active</status>
</ApexTrigger>
""")

# --------------------------------------------------------------------------- LWC


def _bundle_meta(label: str, description: str, exposed: bool, targets: str = "") -> bytes:
    return _xml(f"""
<LightningComponentBundle xmlns="http://soap.sforce.com/2006/04/metadata">
    <apiVersion>{API_VERSION}</apiVersion>
    <description>{description}</description>
    <isExposed>{"true" if exposed else "false"}</isExposed>
    <masterLabel>{label}</masterLabel>{targets}
</LightningComponentBundle>""")


INVOICE_SUMMARY_JS = _text("""
import { LightningElement, api, wire } from 'lwc';
import getSummary from '@salesforce/apex/InvoiceService.getSummary';

export default class InvoiceSummary extends LightningElement {
    @api recordId;

    summary;
    error;

    @wire(getSummary, { accountId: '$recordId' })
    wiredSummary({ data, error }) {
        if (data) {
            this.summary = data;
            this.error = undefined;
        } else if (error) {
            this.summary = undefined;
            this.error = error.body ? error.body.message : error.message;
        }
    }

    get hasOverdue() {
        return Boolean(this.summary && this.summary.overdueCount > 0);
    }
}
""")


def invoice_summary_html(with_badge: bool) -> bytes:
    overdue = (
        """
                <template lwc:if={hasOverdue}>
                    <c-invoice-status-badge status="Overdue" count={summary.overdueCount}>
                    </c-invoice-status-badge>
                </template>"""
        if with_badge
        else ""
    )
    return _text(f"""
<template>
    <lightning-card title="Invoices" icon-name="custom:custom17">
        <div class="slds-var-p-horizontal_medium">
            <template lwc:if={{summary}}>
                <p class="slds-text-heading_medium">
                    <lightning-formatted-number
                        value={{summary.outstanding}}
                        format-style="currency"
                        currency-code="USD">
                    </lightning-formatted-number>
                </p>
                <p class="slds-text-body_small">Outstanding on {{summary.openCount}} open invoices</p>{overdue}
            </template>
            <template lwc:elseif={{error}}>
                <p class="slds-text-color_error">{{error}}</p>
            </template>
        </div>
    </lightning-card>
</template>
""")


INVOICE_SUMMARY_META = _bundle_meta(
    "Invoice Summary",
    "Outstanding invoice amount of an account.",
    True,
    """
    <targets>
        <target>lightning__RecordPage</target>
    </targets>
    <targetConfigs>
        <targetConfig targets="lightning__RecordPage">
            <objects>
                <object>Account</object>
            </objects>
        </targetConfig>
    </targetConfigs>""",
)

OVERDUE_JS = _text("""
import { LightningElement, api, wire } from 'lwc';
import getOverdueInvoices from '@salesforce/apex/InvoiceService.getOverdueInvoices';

const COLUMNS = [
    { label: 'Invoice', fieldName: 'Name' },
    { label: 'Account', fieldName: 'accountName' },
    { label: 'Amount', fieldName: 'Amount__c', type: 'currency' },
    { label: 'Due', fieldName: 'Due_Date__c', type: 'date-local' }
];

export default class OverdueInvoices extends LightningElement {
    @api maxRows = 50;

    columns = COLUMNS;
    rows = [];
    error;

    @wire(getOverdueInvoices, { limitTo: '$maxRows' })
    wiredInvoices({ data, error }) {
        if (data) {
            this.rows = data.map((invoice) => ({
                ...invoice,
                accountName: invoice.Account__r ? invoice.Account__r.Name : ''
            }));
            this.error = undefined;
        } else if (error) {
            this.rows = [];
            this.error = error.body ? error.body.message : error.message;
        }
    }

    get isEmpty() {
        return !this.error && this.rows.length === 0;
    }
}
""")

OVERDUE_HTML = _text("""
<template>
    <lightning-card title="Overdue invoices" icon-name="standard:today">
        <template lwc:if={error}>
            <p class="slds-var-p-horizontal_medium slds-text-color_error">{error}</p>
        </template>
        <template lwc:elseif={isEmpty}>
            <p class="slds-var-p-horizontal_medium">Nothing is overdue.</p>
        </template>
        <template lwc:else>
            <lightning-datatable
                key-field="Id"
                data={rows}
                columns={columns}
                hide-checkbox-column>
            </lightning-datatable>
        </template>
    </lightning-card>
</template>
""")

OVERDUE_META = _bundle_meta(
    "Overdue Invoices",
    "Invoices past their due date, oldest first.",
    True,
    """
    <targets>
        <target>lightning__AppPage</target>
        <target>lightning__HomePage</target>
    </targets>
    <targetConfigs>
        <targetConfig targets="lightning__AppPage,lightning__HomePage">
            <property name="maxRows" type="Integer" default="50" label="Rows to show"/>
        </targetConfig>
    </targetConfigs>""",
)

BADGE_JS = _text("""
import { LightningElement, api } from 'lwc';

const CLASSES = {
    Draft: 'slds-badge',
    Sent: 'slds-badge slds-badge_inverse',
    Overdue: 'slds-badge slds-theme_error',
    Paid: 'slds-badge slds-theme_success',
    Cancelled: 'slds-badge slds-badge_lightest'
};

export default class InvoiceStatusBadge extends LightningElement {
    @api status;
    @api count;

    get badgeClass() {
        return CLASSES[this.status] || 'slds-badge';
    }

    get label() {
        return this.count ? `${this.count} ${String(this.status).toLowerCase()}` : this.status;
    }
}
""")

BADGE_HTML = _text("""
<template>
    <span class={badgeClass}>{label}</span>
</template>
""")

BADGE_META = _bundle_meta("Invoice Status Badge", "An invoice status as a coloured badge.", False)

# --------------------------------------------------------------------------- Q1: payments

PAYMENT_OBJECT = _xml("""
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <allowInChatterGroups>false</allowInChatterGroups>
    <compactLayoutAssignment>SYSTEM</compactLayoutAssignment>
    <deploymentStatus>Deployed</deploymentStatus>
    <description>A payment received against an invoice (2027-Q1 release).</description>
    <enableActivities>false</enableActivities>
    <enableBulkApi>true</enableBulkApi>
    <enableFeeds>false</enableFeeds>
    <enableHistory>false</enableHistory>
    <enableLicensing>false</enableLicensing>
    <enableReports>true</enableReports>
    <enableSearch>false</enableSearch>
    <enableSharing>true</enableSharing>
    <enableStreamingApi>true</enableStreamingApi>
    <label>Payment</label>
    <nameField>
        <displayFormat>PAY-{000000}</displayFormat>
        <label>Payment Number</label>
        <trackHistory>false</trackHistory>
        <type>AutoNumber</type>
    </nameField>
    <pluralLabel>Payments</pluralLabel>
    <searchLayouts/>
    <sharingModel>ControlledByParent</sharingModel>
    <visibility>Public</visibility>
</CustomObject>
""")

PAYMENT_FIELDS: dict[str, bytes | None] = {
    f"{PAYMENT}/fields/Invoice__c.field-meta.xml": _xml("""
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Invoice__c</fullName>
    <externalId>false</externalId>
    <label>Invoice</label>
    <referenceTo>Invoice__c</referenceTo>
    <relationshipLabel>Payments</relationshipLabel>
    <relationshipName>Payments</relationshipName>
    <relationshipOrder>0</relationshipOrder>
    <reparentableMasterDetail>false</reparentableMasterDetail>
    <trackTrending>false</trackTrending>
    <type>MasterDetail</type>
    <writeRequiresMasterRead>false</writeRequiresMasterRead>
</CustomField>
"""),
    f"{PAYMENT}/fields/Amount__c.field-meta.xml": _xml("""
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Amount__c</fullName>
    <externalId>false</externalId>
    <label>Amount</label>
    <precision>16</precision>
    <required>true</required>
    <scale>2</scale>
    <trackTrending>false</trackTrending>
    <type>Currency</type>
</CustomField>
"""),
    f"{PAYMENT}/fields/Received_On__c.field-meta.xml": _xml("""
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Received_On__c</fullName>
    <defaultValue>TODAY()</defaultValue>
    <externalId>false</externalId>
    <label>Received On</label>
    <required>false</required>
    <trackTrending>false</trackTrending>
    <type>Date</type>
</CustomField>
"""),
}

PAYMENT_SERVICE = """
/**
 * Applies received payments to invoices (2027-Q1 release): an invoice whose payments cover
 * its amount becomes Paid.
 */
public with sharing class PaymentService {
    public List<Invoice__c> applyPayments(Set<Id> invoiceIds) {
        Map<Id, Decimal> received = new Map<Id, Decimal>();
        for (AggregateResult row : [
            SELECT Invoice__c invoiceId, SUM(Amount__c) total
            FROM Payment__c
            WHERE Invoice__c IN :invoiceIds
            WITH USER_MODE
            GROUP BY Invoice__c
        ]) {
            received.put((Id) row.get('invoiceId'), (Decimal) row.get('total'));
        }
        List<Invoice__c> paid = new List<Invoice__c>();
        for (Invoice__c invoice : new InvoiceSelector().selectByIds(invoiceIds)) {
            Decimal total = received.get(invoice.Id);
            if (total != null && total >= invoice.Amount__c
                    && invoice.Status__c != InvoiceService.STATUS_PAID) {
                invoice.Status__c = InvoiceService.STATUS_PAID;
                paid.add(invoice);
            }
        }
        update as user paid;
        return paid;
    }
}
"""

PAYMENT_SERVICE_TEST = """
@IsTest
private class PaymentServiceTest {
    @IsTest
    static void anInvoiceCoveredByItsPaymentsBecomesPaid() {
        Account customer = new Account(Name = 'Payment Test Customer');
        insert customer;
        Invoice__c covered = new Invoice__c(Account__c = customer.Id, Amount__c = 100, Status__c = 'Sent');
        Invoice__c partial = new Invoice__c(Account__c = customer.Id, Amount__c = 100, Status__c = 'Sent');
        insert new List<Invoice__c>{ covered, partial };
        insert new List<Payment__c>{
            new Payment__c(Invoice__c = covered.Id, Amount__c = 60),
            new Payment__c(Invoice__c = covered.Id, Amount__c = 40),
            new Payment__c(Invoice__c = partial.Id, Amount__c = 99.99)
        };

        Test.startTest();
        List<Invoice__c> paid = new PaymentService().applyPayments(new Set<Id>{ covered.Id, partial.Id });
        Test.stopTest();

        Assert.areEqual(1, paid.size());
        Assert.areEqual(covered.Id, paid[0].Id);
        Assert.areEqual('Paid', [SELECT Status__c FROM Invoice__c WHERE Id = :covered.Id].Status__c);
    }
}
"""

# --------------------------------------------------------------------------- history

MAIN_HISTORY: tuple[DemoCommit, ...] = (
    DemoCommit(
        "Initial Salesforce DX project",
        DANA,
        34,
        "09:12",
        {
            "sfdx-project.json": SFDX_PROJECT,
            ".forceignore": FORCEIGNORE,
            ".gitignore": GITIGNORE,
            "config/project-scratch-def.json": SCRATCH_DEF,
            "README.md": README,
        },
    ),
    DemoCommit(
        "Add Invoice object",
        ALICE,
        32,
        "14:47",
        {
            f"{INVOICE}/Invoice__c.object-meta.xml": INVOICE_OBJECT,
            **INVOICE_FIELDS,
            f"{INVOICE}/listViews/All.listView-meta.xml": LIST_VIEW_ALL,
        },
    ),
    DemoCommit(
        "Invoice validation rules and Overdue list view",
        ALICE,
        29,
        "11:05",
        {
            f"{INVOICE}/validationRules/Amount_Must_Be_Positive.validationRule-meta.xml": (
                RULE_POSITIVE
            ),
            f"{INVOICE}/validationRules/Due_Date_After_Issue_Date.validationRule-meta.xml": (
                RULE_DUE_DATE
            ),
            f"{INVOICE}/listViews/Overdue_Invoices.listView-meta.xml": LIST_VIEW_OVERDUE,
        },
    ),
    DemoCommit(
        "Invoice page layout and Invoice Manager permission set",
        PRIYA,
        27,
        "16:20",
        {LAYOUT: _layout(False), PERMSET: _permission_set((), _FIELDS)},
    ),
    DemoCommit(
        "Add InvoiceSelector",
        BOB,
        24,
        "10:31",
        {
            **_apex("InvoiceSelector", INVOICE_SELECTOR),
            **_apex("InvoiceSelectorTest", INVOICE_SELECTOR_TEST),
        },
    ),
    DemoCommit(
        "Invoice service: outstanding totals and overdue marking",
        BOB,
        21,
        "15:58",
        {
            **_apex(
                "InvoiceService",
                invoice_service(summary=False, overdue_list=False, rounding=False),
            ),
            **_apex("InvoiceServiceTest", INVOICE_SERVICE_TEST),
        },
    ),
    DemoCommit(
        "Invoice trigger: default the dates, stamp the payment date",
        ALICE,
        17,
        "09:44",
        {
            f"{SRC}/triggers/InvoiceTrigger.trigger": INVOICE_TRIGGER,
            f"{SRC}/triggers/InvoiceTrigger.trigger-meta.xml": INVOICE_TRIGGER_META,
            **_apex("InvoiceTriggerHandler", INVOICE_TRIGGER_HANDLER),
            **_apex("InvoiceTriggerHandlerTest", INVOICE_TRIGGER_HANDLER_TEST),
            **PAID_ON_FIELD,
            LAYOUT: _layout(True),
            PERMSET: _permission_set((), (*_FIELDS, "Paid_On__c")),
        },
    ),
    DemoCommit(
        "invoiceSummary card on the account page",
        PRIYA,
        13,
        "12:16",
        {
            f"{LWC}/invoiceSummary/invoiceSummary.js": INVOICE_SUMMARY_JS,
            f"{LWC}/invoiceSummary/invoiceSummary.html": invoice_summary_html(False),
            f"{LWC}/invoiceSummary/invoiceSummary.js-meta.xml": INVOICE_SUMMARY_META,
            **_apex(
                "InvoiceService",
                invoice_service(summary=True, overdue_list=False, rounding=False),
            ),
            PERMSET: _permission_set(("InvoiceService",), (*_FIELDS, "Paid_On__c")),
        },
    ),
    DemoCommit(
        "overdueInvoices list for the home page",
        BOB,
        9,
        "17:03",
        {
            f"{LWC}/overdueInvoices/overdueInvoices.js": OVERDUE_JS,
            f"{LWC}/overdueInvoices/overdueInvoices.html": OVERDUE_HTML,
            f"{LWC}/overdueInvoices/overdueInvoices.js-meta.xml": OVERDUE_META,
            **_apex(
                "InvoiceService",
                invoice_service(summary=True, overdue_list=True, rounding=False),
            ),
        },
    ),
    DemoCommit(
        "invoiceStatusBadge; show the overdue count in the summary card",
        PRIYA,
        6,
        "10:39",
        {
            f"{LWC}/invoiceStatusBadge/invoiceStatusBadge.js": BADGE_JS,
            f"{LWC}/invoiceStatusBadge/invoiceStatusBadge.html": BADGE_HTML,
            f"{LWC}/invoiceStatusBadge/invoiceStatusBadge.js-meta.xml": BADGE_META,
            f"{LWC}/invoiceSummary/invoiceSummary.html": invoice_summary_html(True),
        },
    ),
    DemoCommit(
        "Hotfix: round outstanding totals half-up to the cent",
        DANA,
        3,
        "08:25",
        _apex("InvoiceService", invoice_service(summary=True, overdue_list=True, rounding=True)),
    ),
)

LONG_TERM_HISTORY: tuple[DemoCommit, ...] = (
    DemoCommit(
        "Q1: Payment object; move to API 63.0",
        ALICE,
        2,
        "11:50",
        {
            "sfdx-project.json": SFDX_PROJECT.replace(
                API_VERSION.encode(), LONG_TERM_API_VERSION.encode()
            ),
            f"{PAYMENT}/Payment__c.object-meta.xml": PAYMENT_OBJECT,
            **PAYMENT_FIELDS,
        },
    ),
    DemoCommit(
        "Q1: PaymentService marks covered invoices paid",
        BOB,
        1,
        "16:12",
        {
            **_apex("PaymentService", PAYMENT_SERVICE, LONG_TERM_API_VERSION),
            **_apex("PaymentServiceTest", PAYMENT_SERVICE_TEST, LONG_TERM_API_VERSION),
        },
    ),
)
