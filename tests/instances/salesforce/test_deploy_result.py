"""What a deployment reports, read from the stand-in org's DeployResult: component and test
failures as the org sends them, the summary users read, and each result as a deployment
records it."""

from __future__ import annotations

from instances import salesforce as sf
from tests.salesforce_standin.packages import make_package

pytest_plugins = ["tests.salesforce_standin.plugin"]


def test_component_failures_are_parsed(salesforce, org):
    salesforce.knobs.deploy_outcome = "component_errors"

    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    status = sf.wait(org, deploy_id, timeout=10, poll=0.01)

    assert status.done and status.status == "Failed" and not status.succeeded
    assert (status.component_errors, status.components_deployed) == (2, 2)
    assert status.component_failures == (
        sf.ComponentFailure(
            component_type="ApexClass",
            full_name="InvoiceService",
            file_name="classes/InvoiceService.cls",
            line=12,
            column=5,
            problem="Variable does not exist: totl",
            problem_type="Error",
        ),
        sf.ComponentFailure(
            component_type="CustomField",
            full_name="Invoice__c.Total__c",
            file_name="objects/Invoice__c.object",
            line=None,
            column=None,
            problem="Field Amount__c does not exist. Check spelling.",
            problem_type="Error",
        ),
    )
    assert status.summary().splitlines() == [
        f"Deployment {deploy_id} failed: 2/4 components (2 errors).",
        "• classes/InvoiceService.cls:12:5: Variable does not exist: totl",
        "• objects/Invoice__c.object: Field Amount__c does not exist. Check spelling.",
    ]


def test_test_failures_are_parsed(salesforce, org):
    salesforce.knobs.deploy_outcome = "test_failures"

    deploy_id = sf.start_deploy(org, make_package(), check_only=True, test_level="RunLocalTests")
    status = sf.wait(org, deploy_id, timeout=10, poll=0.01)

    assert status.status == "Failed" and status.check_only
    assert (status.tests_completed, status.tests_total, status.test_errors) == (3, 3, 1)
    assert status.test_failures == (
        sf.TestFailure(
            class_name="InvoiceServiceTest",
            method="testTotals",
            message="System.AssertException: Assertion Failed: Expected: 42, Actual: 41",
            stack_trace="Class.InvoiceServiceTest.testTotals: line 17, column 1",
        ),
    )
    assert status.summary().splitlines()[-1] == (
        "• Test InvoiceServiceTest.testTotals: System.AssertException: Assertion Failed: "
        "Expected: 42, Actual: 41"
    )


def test_each_result_records_itself_as_a_deployment_keeps_it():
    failure = sf.ComponentFailure("ApexClass", "Tax", "classes/Tax.cls", 3, None, "Oops", "Error")
    assert failure.to_json() == {
        "type": "ApexClass",
        "name": "Tax",
        "file": "classes/Tax.cls",
        "line": 3,
        "column": None,
        "problem": "Oops",
        "problem_type": "Error",
    }
    assert failure.warning_json() == {
        "type": "ApexClass",
        "name": "Tax",
        "file": "classes/Tax.cls",
        "problem": "Oops",
    }
    assert sf.TestFailure("TaxTest", "rates", "Assertion Failed", "line 4").to_json() == {
        "class": "TaxTest",
        "method": "rates",
        "message": "Assertion Failed",
        "stack": "line 4",
    }
    assert sf.CodeCoverage("TaxTrigger", "Trigger", 8, 1).to_json() == {
        "name": "TaxTrigger",
        "kind": "Trigger",
        "locations": 8,
        "not_covered": 1,
        "percent": 87,
        "low": False,
    }
    assert sf.CoverageWarning("", "Average coverage is 68%").to_json() == {
        "name": "",
        "message": "Average coverage is 68%",
    }
