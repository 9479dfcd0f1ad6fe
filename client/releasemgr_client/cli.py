"""`releasemgr-client`: what a developer does in the browser, from a CI job.

The commands and flags are those of the server's `manage.py` commands of the same name (without
`--as`: the token says who acts). Exit codes as `manage.py promote`: 0 queued or succeeded, 1
ended without succeeding, 2 refused (nothing was requested), 3 `--wait` timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from releasemgr_client import __version__
from releasemgr_client.http import Api, ApiError

SUCCEEDED, NOT_SUCCEEDED, REFUSED, TIMED_OUT = 0, 1, 2, 3
POLL_SECONDS = float(os.environ.get("RELEASEMGR_POLL_SECONDS", "1") or 1)
JOB_TIMEOUT = 600.0  # how long a call the server handed to a worker may take, without --timeout

DIRECTIONS = {
    "enter": "enter the pipeline",
    "forward": "promote",
    "back": "back promote",
    "rollback": "roll back",
}
PROMOTION_TERMINAL = {"succeeded", "conflicted", "failed", "errored", "rejected", "cancelled"}
DEPLOYMENT_TERMINAL = {"succeeded", "failed", "cancelled", "errored"}


class Refused(Exception):
    """Bad input or no permission: say why and exit 2."""


def words(status: str) -> str:
    return status.replace("_", " ")


def out(text: str = "") -> None:
    print(text, flush=True)


def instance_id(api: Api, name: str) -> int:
    found = api.get("/instances", name=name)["results"]
    if not found:
        page = api.get("/instances", page_size=20)["results"]
        known = ", ".join(i["name"] for i in page)
        raise Refused(
            f"There is no instance “{name}”." + (f" Instances: {known}." if known else "")
        )
    return int(found[0]["id"])


def promotion_number(text: str) -> int:
    try:
        return int(text.lstrip("#"))
    except ValueError:
        raise Refused(f"“{text}” is not a promotion number.") from None


def settled(api: Api, answer: dict[str, Any], made: str, timeout: float) -> dict[str, Any]:
    """What a call made: the answer itself, or, when the server handed the work to a worker
    (202 with a job: it fetches from a remote first), what the job made once it has ended.
    `made` is "feature", "promotion" or "deployment"; a failed job is a refusal (nothing made)."""
    if "terminal" not in answer or "result" not in answer:
        return answer
    job = answer
    deadline = time.monotonic() + timeout
    while not job["terminal"]:
        if time.monotonic() >= deadline:
            raise Refused(f"The server's job #{job['id']} ({job['title']}) did not end in time.")
        time.sleep(POLL_SECONDS)
        job = api.request("GET", f"/jobs/{job['id']}", retry_network=True)
    number = (job.get("result") or {}).get(made)
    if job["status"] != "succeeded" or not number:
        raise Refused(job["message"] or f"No {made} was made.")
    return api.request("GET", f"/{made}s/{number}", retry_network=True)


# --------------------------------------------------------------------------- commands


def feature_start(api: Api, args: argparse.Namespace) -> int:
    body = {"instance": instance_id(api, args.instance), "key": args.key, "title": args.title}
    if args.attach:
        body["attach_branch"] = args.attach
    feature = settled(api, api.post("/features", body), "feature", JOB_TIMEOUT)
    started = feature["started_from"]["name"] if feature.get("started_from") else args.instance
    if args.json:
        out(
            json.dumps(
                {
                    "key": feature["key"],
                    "branch": feature["branch"],
                    "repository": feature["repository"]["name"],
                    "clone_url": feature["clone_url"],
                    "base_commit": feature["base_commit"],
                    "started_from": started,
                }
            )
        )
        return SUCCEEDED
    out(
        f"Started {feature['key']} “{feature['title']}” from {started}: branch "
        f"{feature['branch']}, cut at {feature['base_commit'][:10]}."
    )
    out(f"git clone --branch {feature['branch']} {feature['clone_url']}")
    return SUCCEEDED


def promote(api: Api, args: argparse.Namespace) -> int:
    keys = list(dict.fromkeys(args.keys))
    body = {"features": keys, "target": instance_id(api, args.to), "queue_anyway": True}
    promotion = settled(api, api.post("/promotions", body), "promotion", args.timeout)
    return announce(
        api,
        promotion,
        args,
        f"Promotion #{promotion['id']} ({DIRECTIONS.get(promotion['direction'], 'promote')}): "
        f"{', '.join(promotion['features'])} into {promotion['target']['name']}, "
        f"{words(promotion['status'])}.",
    )


def announce(api: Api, promotion: dict[str, Any], args: argparse.Namespace, line: str) -> int:
    """Say what was queued and why it waits; with --wait, follow it."""
    out(line)
    if promotion.get("waiting"):
        out(promotion["waiting"])
    if not args.wait:
        return SUCCEEDED
    return follow_promotion(api, promotion["id"], args.timeout)


def follow_promotion(api: Api, number: int, timeout: float) -> int:
    """Print the log as it grows; end like the promotion ended."""
    deadline = time.monotonic() + timeout
    since = 0
    while True:
        log = api.request(
            "GET", f"/promotions/{number}/log", query={"since": since}, retry_network=True
        )
        for entry in log["entries"]:
            level = "" if entry["level"] == "info" else f"{entry['level'].capitalize()}: "
            out(f"{_clock(entry['at'])} {level}{entry['message']}")
        since = log["next_since"]
        if log["terminal"]:
            break
        if time.monotonic() >= deadline:
            hint = (
                " (Is the task cluster, `manage.py qcluster`, running?)"
                if log["status"] == "queued"
                else ""
            )
            print(
                f"Promotion #{number} is still {words(log['status'])} after {timeout:g} s. "
                f"{log.get('waiting', '')}{hint}",
                file=sys.stderr,
            )
            return TIMED_OUT
        time.sleep(POLL_SECONDS)
    promotion = api.request("GET", f"/promotions/{number}", retry_network=True)
    if promotion["status"] == "succeeded":
        out(f"Promotion #{number} succeeded.")
        return SUCCEEDED
    print(outcome(promotion), file=sys.stderr)
    return NOT_SUCCEEDED


def outcome(promotion: dict[str, Any]) -> str:
    number = promotion["id"]
    if promotion["status"] == "conflicted":
        paths = [c.get("path", "?") for c in promotion.get("conflicts") or []] or [
            "(no path named)"
        ]
        return (
            f"Promotion #{number} is conflicted: {promotion['target']['name']}'s branch was left "
            "where it was. Conflicted paths:\n  " + "\n  ".join(paths) + "\nResolve them, then "
            "retry the promotion."
        )
    why = promotion.get("failure_reason") or "no reason was recorded"
    return f"Promotion #{number} {words(promotion['status'])}: {why}"


def approve(api: Api, args: argparse.Namespace) -> int:
    promotion = api.post(
        f"/promotions/{promotion_number(args.promotion)}/approve", {"reason": args.reason}
    )
    out(f"Approved promotion #{promotion['id']} into {promotion['target']['name']}.")
    if promotion.get("waiting"):
        out(promotion["waiting"])
    return SUCCEEDED


def reject(api: Api, args: argparse.Namespace) -> int:
    promotion = api.post(
        f"/promotions/{promotion_number(args.promotion)}/reject", {"reason": args.reason}
    )
    out(f"Rejected promotion #{promotion['id']} into {promotion['target']['name']}.")
    return SUCCEEDED


def rollback(api: Api, args: argparse.Namespace) -> int:
    number = promotion_number(args.promotion)
    if not args.acknowledge:
        preview = api.get(f"/promotions/{number}/rollback")
        if not preview["allowed"]:
            raise Refused(preview["refused"])
        listed = "\n".join(
            f"- {s['title']}: {s['detail']}" + "".join(f"\n    {c}" for c in s["components"])
            for s in preview["cannot_undo"]
        )
        note = f"{preview['note']}\n" if preview.get("note") else ""
        raise Refused(
            f"Rolling back promotion #{number} cannot undo:\n{listed}\n{note}"
            "Run again with --acknowledge to roll it back."
        )
    made = api.post(f"/promotions/{number}/rollback", {"acknowledge": True})
    return announce(
        api,
        made,
        args,
        f"Promotion #{made['id']} (roll back): promotion #{number} "
        f"({', '.join(made['features'])}) in {made['target']['name']}, {words(made['status'])}.",
    )


def status(api: Api, args: argparse.Namespace) -> int:
    if args.promotion is None:
        page = api.get("/promotions", status="waiting", page_size=50)
        if args.json:
            out(json.dumps(page["results"]))
            return SUCCEEDED
        if not page["results"]:
            out("No promotion is waiting or running.")
        for p in page["results"]:
            out(
                f"#{p['id']} {words(p['status'])}: {', '.join(p['features'])} into "
                f"{p['target']['name']}. {p.get('waiting', '')}".rstrip()
            )
        return SUCCEEDED
    promotion = api.get(f"/promotions/{promotion_number(args.promotion)}")
    if args.json:
        out(json.dumps(promotion))
    else:
        out(
            f"Promotion #{promotion['id']} "
            f"({DIRECTIONS.get(promotion['direction'], 'promote')}): "
            f"{', '.join(promotion['features'])} into {promotion['target']['name']}, "
            f"{words(promotion['status'])}."
        )
        if promotion.get("waiting"):
            out(promotion["waiting"])
        elif promotion["status"] != "succeeded":
            out(outcome(promotion))
    if promotion["status"] in PROMOTION_TERMINAL and promotion["status"] != "succeeded":
        return NOT_SUCCEEDED
    return SUCCEEDED


def deploy(api: Api, args: argparse.Namespace) -> int:
    target = instance_id(api, args.instance)
    instance = api.get(f"/instances/{target}")
    body = {
        "revision": args.revision or instance["branch"],
        "from_revision": args.from_revision or "",
        "kind": "validate" if args.validate else "deploy",
        "test_level": args.test_level or instance["test_level"],
        "run_tests": args.tests or "",
    }
    deployment = settled(
        api, api.post(f"/instances/{target}/deployments", body), "deployment", args.timeout
    )
    out(
        f"Deployment #{deployment['id']} ({deployment['kind']}) of "
        f"{deployment['to_commit'][:10]} to {instance['name']}, {words(deployment['status'])}."
    )
    if not args.wait:
        return SUCCEEDED
    deadline = time.monotonic() + args.timeout
    last = ""
    while deployment["status"] not in DEPLOYMENT_TERMINAL:
        if time.monotonic() >= deadline:
            print(
                f"Deployment #{deployment['id']} is still {words(deployment['status'])} after "
                f"{args.timeout:g} s.",
                file=sys.stderr,
            )
            return TIMED_OUT
        time.sleep(POLL_SECONDS)
        deployment = api.request("GET", f"/deployments/{deployment['id']}", retry_network=True)
        progress = (
            f"{words(deployment['status'])}: components {deployment['components_deployed']}/"
            f"{deployment['components_total']}, tests {deployment['tests_completed']}/"
            f"{deployment['tests_total']}"
        )
        if progress != last:
            out(progress)
            last = progress
    if deployment["status"] == "succeeded":
        out(f"Deployment #{deployment['id']} succeeded.")
        return SUCCEEDED
    found = (deployment.get("component_failures") or []) + (deployment.get("test_failures") or [])
    failures = [f"  {_failure(f)}" for f in found]
    print(
        f"Deployment #{deployment['id']} {words(deployment['status'])}: "
        f"{deployment.get('error_message') or 'see its page'}"
        + ("\n" + "\n".join(failures[:50]) if failures else ""),
        file=sys.stderr,
    )
    return NOT_SUCCEEDED


# --------------------------------------------------------------------------- arguments


def _failure(failure: Any) -> str:
    if not isinstance(failure, dict):
        return str(failure)
    where = failure.get("fileName") or failure.get("fullName") or failure.get("name") or ""
    what = failure.get("problem") or failure.get("message") or ""
    return f"{where}: {what}" if where else str(what or failure)


def _clock(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%H:%M:%S")
    except ValueError:
        return stamp


def wait_flags(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("--wait", action="store_true", help=f"Follow the {what} until it ends.")
    command.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help=f"How long --wait waits (default 600); the {what} itself goes on.",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="releasemgr-client",
        description="releasemgr from CI: configured by RELEASEMGR_URL and RELEASEMGR_TOKEN. "
        "Exit 0 queued or succeeded, 1 did not succeed, 2 refused, 3 timed out.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top.add_argument(
        "--url", default=os.environ.get("RELEASEMGR_URL", ""), help="Default: $RELEASEMGR_URL."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    feature = commands.add_parser("feature", help="Features.")
    feature_commands = feature.add_subparsers(dest="feature_command", required=True)
    start = feature_commands.add_parser(
        "start", help="Cut a feature branch from the instance's main branch."
    )
    start.add_argument("--instance", required=True, help="The instance it starts from.")
    start.add_argument("--key", required=True, help="The feature key, such as RM-42.")
    start.add_argument("--title", required=True)
    start.add_argument("--attach", metavar="BRANCH", help="Attach an existing branch instead.")
    start.add_argument(
        "--json",
        action="store_true",
        help="Print {key, branch, repository, clone_url, base_commit, started_from}.",
    )
    start.set_defaults(run=feature_start)

    prom = commands.add_parser(
        "promote", help="Promote features into an instance (the direction is inferred)."
    )
    prom.add_argument("keys", nargs="+", metavar="KEY", help="Feature keys, such as RM-42.")
    prom.add_argument("--to", required=True, metavar="INSTANCE", help="The target.")
    wait_flags(prom, "promotion")
    prom.set_defaults(run=promote)

    app = commands.add_parser("approve", help="Approve a promotion awaiting approval.")
    app.add_argument("promotion", metavar="PROMOTION_ID")
    app.add_argument("--reason", default="", help="Recorded in the promotion's log.")
    app.set_defaults(run=approve)

    rej = commands.add_parser("reject", help="Reject a promotion awaiting approval.")
    rej.add_argument("promotion", metavar="PROMOTION_ID")
    rej.add_argument("--reason", required=True, help="Why; shown to the requester.")
    rej.set_defaults(run=reject)

    back = commands.add_parser(
        "rollback",
        help="Roll back a succeeded promotion: revert its merges and deploy the inverse.",
    )
    back.add_argument("promotion", metavar="PROMOTION_ID")
    back.add_argument(
        "--acknowledge",
        action="store_true",
        help="Acknowledge what the rollback cannot undo (printed without it).",
    )
    wait_flags(back, "rollback")
    back.set_defaults(run=rollback)

    stat = commands.add_parser(
        "status",
        help="A promotion's status (exit 1 if it ended without succeeding), or "
        "every waiting and running one.",
    )
    stat.add_argument("promotion", nargs="?", metavar="PROMOTION_ID")
    stat.add_argument("--json", action="store_true", help="Print the API's answer.")
    stat.set_defaults(run=status)

    dep = commands.add_parser(
        "deploy", help="Deploy (or validate) a revision to an instance's org, outside a promotion."
    )
    dep.add_argument("--instance", required=True, help="The instance whose org it goes to.")
    dep.add_argument("--revision", help="A branch, commit or `main~2` (default: its branch).")
    dep.add_argument(
        "--from", dest="from_revision", metavar="REVISION", help="Only the changes since this."
    )
    dep.add_argument("--validate", action="store_true", help="Validate only (check, no deploy).")
    dep.add_argument("--test-level", help="Default: the instance's test level.")
    dep.add_argument("--tests", help="Comma-separated Apex test classes (specified tests).")
    dep.add_argument("--wait", action="store_true", help="Follow it until it ends.")
    dep.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS")
    dep.set_defaults(run=deploy)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[Api, argparse.Namespace], int] = args.run
    try:
        api = Api(args.url, os.environ.get("RELEASEMGR_TOKEN", ""))
        return run(api, args)
    except Refused as exc:
        print(exc, file=sys.stderr)
        return REFUSED
    except ApiError as exc:
        print(exc, file=sys.stderr)
        errors: dict[str, list[str]] = exc.problem.get("errors") or {}
        conflicts = exc.problem.get("conflicts") or {}
        for name, messages in errors.items():
            if name != "non_field" and messages:
                print(f"  {name}: {' '.join(messages)}", file=sys.stderr)
        for key, paths in conflicts.items():
            print(f"  {key}: {', '.join(paths)}", file=sys.stderr)
        return REFUSED
    except KeyboardInterrupt:
        return 130
