"""Which Apex test levels an org accepts, by the kind of org: Salesforce's rules, kept here so
that forms, models and deployments ask one place.

Production orgs refuse NoTestRun (`INVALID_OPERATION: testLevel of NoTestRun cannot be used
in production organizations`) and, when a deployment holds Apex, need its tests to pass and
cover 75 % of the code; sandboxes, scratch orgs and Developer Edition orgs accept every level.
See docs/salesforce.md ("Test levels").
"""

from __future__ import annotations

from instances.salesforce.deploy import TestLevel
from instances.salesforce.errors import TestLevelRefused

PRODUCTION = "production"  # the org type, as OrgType.PRODUCTION stores it


def allowed_test_levels(org_type: str) -> tuple[TestLevel, ...]:
    """The levels an org of this type accepts, in the order a form offers them."""
    if org_type == PRODUCTION:
        return (
            TestLevel.RUN_LOCAL_TESTS,
            TestLevel.RUN_SPECIFIED_TESTS,
            TestLevel.RUN_ALL_TESTS_IN_ORG,
        )
    return tuple(TestLevel)


def default_test_level(org_type: str) -> TestLevel:
    """Production: the local tests (Salesforce's own default for a deployment with Apex);
    every other org: no tests."""
    return TestLevel.RUN_LOCAL_TESTS if org_type == PRODUCTION else TestLevel.NO_TEST_RUN


def check_test_level(org_type: str, level: str) -> None:
    """Refuse, before asking the org, a level the org would refuse."""
    if level and level not in allowed_test_levels(org_type):
        raise TestLevelRefused(
            f"A production org refuses {level}: deployments to production run the local "
            "tests, all tests, or the tests you name (RunLocalTests, RunAllTestsInOrg, "
            "RunSpecifiedTests).",
            code="INVALID_OPERATION",
        )
