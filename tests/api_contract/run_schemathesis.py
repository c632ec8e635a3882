"""The API contract run: Schemathesis against the live app (gunicorn, PostgreSQL), once per role token.

1. Resets and migrates PostgreSQL database `cogrow_schemathesis` (or --database-url), loads the demo network
   (2 primes, 6 suppliers, items, forecasts, POs, authorizations, production reports, a shipment, alerts) and
   puts a marker in every name, part number and note of the OTHER tenant: Daesung, its suppliers, and every item
   and PO of Daesung's relationships (Seoul Precision, which serves both primes, keeps its own name).
2. Creates one API token per role in ONE tenant: Hanbit Motors (prime: admin, procurement, planner) and Mirae
   Casting (supplier of Hanbit only: admin, production).
3. Starts gunicorn (2 workers) on a free port against that database.
4. Runs `schemathesis run /api/v1/openapi.json` with the checks not_a_server_error,
   response_schema_conformance, content_type_conformance and no_foreign_tenant_data (tests/api_contract/hooks.py):
   first one workflow run (stateful phase only, declared links only) where each request carries the token of a
   role its operation allows, so that links chain the planner's and the supplier's steps, and the same on the PO
   chain alone (create -> issue -> acknowledge, which a scenario among every link seldom walks); then one run per role
   on the operations that role may call, side by side, and one on the public operations.
5. Prints the requests made per run and in total, and the failures; exits 1 on any failure.

    .venv/bin/python tests/api_contract/run_schemathesis.py [--max-examples 8] [--roles prime:planner,...]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cogrow_schemathesis"
# The other tenant's marker: in its organisations' and people's names, its items' part numbers and descriptions,
# its POs' notes. No answer to the tenant under test may contain it.
MARKER = "XQTENANTB"
# Runs in this order: the prime admin may suspend the relationship, so it goes last.
ROLES = ("supplier:production", "supplier:admin", "prime:planner", "prime:procurement", "prime:admin")
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,no_foreign_tenant_data"
# Operations no run fuzzes: revoking a token would end the run that holds it.
EXCLUDE_PATH_REGEX = r"/tokens/[^/]+/revoke$"


# The workflow run follows only the links the document declares (Schemathesis would add thousands it infers).
WORKFLOW_CONFIG = "[phases.stateful]\ninference.algorithms = []\n"


# --- setup ---------------------------------------------------------------------------------------------------

def reset_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        # A throwaway database: commits need not wait for the disk (a denied request commits its audit row).
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def seed(url: str, var_dir: str) -> dict:
    """Migrate, load the demo network, mark the other tenant, create the tokens; returns ({"side:role": token},
    the workflow run's relationship, items and a due date)."""
    os.environ["COGROW_VAR_DIR"] = var_dir
    for name in ("COGROW_DATABASE_URL", "COGROW_ENV"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPO / "platform"))
    import logging

    from sqlalchemy import select, update

    from cogrow import create_app
    from cogrow.accounts import services as accounts
    from cogrow.accounts.models import Membership, Organisation, User
    from cogrow.catalog.models import Item
    from cogrow.config import TestingConfig
    from cogrow.core.auth import Actor
    from cogrow.demo import load_demo
    from cogrow.extensions import db
    from cogrow.orders.models import PurchaseOrder
    from cogrow.relationships.models import SupplyRelationship

    app = create_app(TestingConfig(url))
    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        assert load_demo(), "the contract database should start empty"
        orgs = {o.name.split(" (")[0]: o for o in db.session.scalars(select(Organisation))}
        prime, supplier = orgs["Hanbit Motors"], orgs["Mirae Casting"]
        foreign_prime = orgs["Daesung Heavy Industries"]
        foreign_rels = list(db.session.scalars(select(SupplyRelationship.id)
                                               .where(SupplyRelationship.prime_id == foreign_prime.id)))
        foreign_suppliers = list(db.session.scalars(select(SupplyRelationship.supplier_id).where(
            SupplyRelationship.prime_id == foreign_prime.id,
            SupplyRelationship.supplier_id.not_in(select(SupplyRelationship.supplier_id)
                                                  .where(SupplyRelationship.prime_id == prime.id)))))
        foreign_orgs = [foreign_prime.id, *foreign_suppliers]
        for org in db.session.scalars(select(Organisation).where(Organisation.id.in_(foreign_orgs))):
            org.name = f"{org.name} {MARKER}"
        foreign_users = select(Membership.user_id).where(Membership.organisation_id.in_(foreign_orgs))
        for user in db.session.scalars(select(User).where(User.id.in_(foreign_users))):
            user.name = f"{user.name} {MARKER}"
        db.session.execute(update(Item).where(Item.relationship_id.in_(foreign_rels)).values(
            prime_part_number=MARKER + "-" + Item.prime_part_number,
            supplier_part_number=MARKER + "-" + Item.supplier_part_number,
            description=Item.description + " " + MARKER))
        db.session.execute(update(PurchaseOrder).where(PurchaseOrder.relationship_id.in_(foreign_rels)).values(
            note=PurchaseOrder.note + " " + MARKER))
        db.session.commit()

        from cogrow.core.weeks import local_today

        rel_id = db.session.scalar(select(SupplyRelationship.id).where(SupplyRelationship.prime_id == prime.id,
                                                                       SupplyRelationship.supplier_id == supplier.id))
        world = {"relationship_id": rel_id, "due_date": (local_today() + timedelta(days=28)).isoformat(),
                 "item_ids": list(db.session.scalars(select(Item.id).where(Item.relationship_id == rel_id)
                                                     .order_by(Item.id)))}
        tokens = {}
        with app.test_request_context():
            for org in (prime, supplier):
                admin_id = db.session.scalar(select(Membership.user_id).where(
                    Membership.organisation_id == org.id, Membership.role == "admin"))
                actor = Actor(organisation_id=org.id, org_kind=org.kind, role="admin", user_id=admin_id)
                for side_role in ROLES:
                    side, role = side_role.split(":")
                    if side == org.kind:
                        _token, raw = accounts.create_api_token(actor, f"contract {role}", role)
                        tokens[side_role] = raw
        db.session.remove()
        db.engine.dispose()
    return tokens, world


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, var_dir: str, access_log: Path, log) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]), "COGROW_DATABASE_URL": url, "COGROW_VAR_DIR": var_dir, "COGROW_ENV": "development",
           # Thousands of requests a minute per token: the 600/min limit would answer most of them with 429.
           "COGROW_API_RATE_LIMIT": "1000000 per minute", "COGROW_RATELIMIT_ENABLED": "false"}
    command = [str(VENV_BIN / "gunicorn"), "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
               "--access-logfile", str(access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(M)s",
               "--log-level", "warning", "--timeout", "60",
               # gunicorn itself answers a request line over 4,094 bytes with an HTML 414 before the app sees it
               # (the Procfile's server too): unlimited here, so the fuzzer's long query strings reach the app.
               "--limit-request-line", "0",
               "cogrow:create_app()"]
    return subprocess.Popen(command, cwd=str(REPO), env=env, stdout=log, stderr=log)


def wait_ready(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode} before answering")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not serve /api/v1/openapi.json in time")


# --- the runs ------------------------------------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def operations_for(spec: dict, side_role: str | None) -> list[str]:
    """Operation ids the role may call (its side and role in `x-cogrow-roles`); operations that declare no roles
    (public ones) go to the run named None."""
    chosen = []
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS or "operationId" not in operation:
                continue
            access = operation.get("x-cogrow-roles")
            if side_role is None:
                if not access:
                    chosen.append(operation["operationId"])
                continue
            if not access:
                continue
            side, role = side_role.split(":")
            if access.get("side") in (side, "either side") and role in access.get("roles", ()):
                chosen.append(operation["operationId"])
    return chosen


def links_of(spec: dict) -> tuple[list[str], list[str], str]:
    """(operation ids at either end of a declared link, "METHOD path" of the links' first steps, the PO create)."""
    by_id, linked, sources, create_po = {}, set(), [], ""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and "operationId" in operation:
                by_id[operation["operationId"]] = f"{method.upper()} {path}"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            targets = [link.get("operationId") for response in operation.get("responses", {}).values()
                       for link in (response.get("links") or {}).values()]
            if targets:
                linked.add(operation["operationId"])
                linked.update(t for t in targets if t in by_id)
                sources.append(f"{method.upper()} {path}")
            if operation.get("operationId") == "createPurchaseOrder":
                create_po = f"{method.upper()} {path}"
    return sorted(linked), sources, create_po


def po_chain(access_log: Path) -> dict:
    """How far POs got along create -> issue -> acknowledge (successful answers in the server's access log)."""
    import re

    steps = {"created": r"POST /api/v1/relationships/\d+/orders 201 ",
             "issued": r"POST /api/v1/relationships/\d+/orders/\d+/issue 200 ",
             "acknowledged": r"POST /api/v1/relationships/\d+/orders/\d+/acknowledge 200 "}
    text = access_log.read_text(errors="replace") if access_log.exists() else ""
    return {step: len(re.findall(pattern, text)) for step, pattern in steps.items()}


def _lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def start_schemathesis(name: str, spec_url: str, args, env: dict, work: Path, token: str | None, phases: str,
                       max_examples: int, operation_ids: list[str], config: str | None = None) -> dict:
    slug = name.replace(":", "-")
    count_file = work / f"count-{slug}.json"
    command = [str(VENV_BIN / "schemathesis")]
    if config:
        (work / f"schemathesis-{slug}.toml").write_text(config)
        command += ["--config-file", str(work / f"schemathesis-{slug}.toml")]
    command += ["run", spec_url, "--checks", CHECKS, "--phases", phases,
               "--max-examples", str(max_examples), "--seed", str(args.seed), "--workers", str(args.workers),
               "--generation-database", "none", "--suppress-health-check", "all", "--request-timeout", "30",
               "--exclude-path-regex", EXCLUDE_PATH_REGEX, "--no-color", "--output-truncate", "true",
               "--report", "junit", "--report-junit-path", str(work / f"junit-{slug}.xml")]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    for operation_id in operation_ids:
        command += ["--include-operation-id", operation_id]
    output = (work / f"schemathesis-{slug}.log").open("w+")
    print(f"=== {name}: schemathesis on {len(operation_ids)} operations ({phases}, at most {max_examples} "
          f"examples per operation when fuzzing)", flush=True)
    process = subprocess.Popen(command, cwd=str(REPO), env={**env, "COGROW_CONTRACT_COUNT_FILE": str(count_file)},
                               stdout=output, stderr=subprocess.STDOUT, text=True)
    return {"name": name, "process": process, "output": output, "count_file": count_file,
            "began": time.monotonic(), "operations": len(operation_ids)}


def finish_schemathesis(run: dict, args) -> dict:
    try:
        code = run["process"].wait(timeout=max(1.0, run["began"] + args.run_timeout - time.monotonic()))
    except subprocess.TimeoutExpired:
        run["process"].kill()
        code = run["process"].wait()
        print(f"{run['name']}: stopped after {args.run_timeout:.0f} s")
    elapsed = time.monotonic() - run["began"]
    run["output"].seek(0)
    text = run["output"].read()
    run["output"].close()
    print(f"\n=== {run['name']} (exit {code}, {elapsed:.1f} s)")
    print(text if code or args.verbose else _summary_lines(text), flush=True)
    count_file = run["count_file"]
    requests = json.loads(count_file.read_text())["requests"] if count_file.exists() else None
    return {"name": run["name"], "exit": code, "seconds": elapsed, "requests": requests,
            "operations": run["operations"]}


def _summary_lines(output: str) -> str:
    """The end of Schemathesis' report (its summary), without the progress lines."""
    lines = output.rstrip().splitlines()
    for marker in ("SUMMARY", "=== Summary", "Summary"):
        for n in range(len(lines) - 1, -1, -1):
            if marker in lines[n]:
                return "\n".join(lines[max(0, n - 1):])
    return "\n".join(lines[-25:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COGROW_CONTRACT_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated side:role runs")
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("COGROW_CONTRACT_EXAMPLES", "10")))
    parser.add_argument("--phases", default=os.environ.get("COGROW_CONTRACT_PHASES", "examples,fuzzing,stateful"),
                        help="add coverage for the boundary-value phase (about 3x the requests)")
    parser.add_argument("--no-workflow", action="store_true", help="skip the mixed-role stateful run")
    parser.add_argument("--workers", type=int, default=1, help="Schemathesis workers per run")
    parser.add_argument("--workflow-examples", type=int, default=80, help="scenarios of the workflow run")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("COGROW_CONTRACT_SEED", "20261207")))
    parser.add_argument("--run-timeout", type=float, default=600)
    parser.add_argument("--keep", help="a directory to keep the logs and reports in (access.log: method, path, "
                        "status, milliseconds)")
    parser.add_argument("--verbose", action="store_true", help="print Schemathesis' whole output for every run")
    args = parser.parse_args(argv)

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cogrow-contract-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        var_dir = str(work / "var")
        reset_database(args.database_url)
        tokens, world = seed(args.database_url, var_dir)
        seeded = time.monotonic() - began
        port = free_port()
        access_log = work / "access.log"
        server_log = (work / "gunicorn.log").open("w")
        server = start_gunicorn(args.database_url, port, var_dir, access_log, server_log)
        results = []
        answered = 0
        chain = {"created": 0, "issued": 0, "acknowledged": 0}
        try:
            wait_ready(port, server)
            spec_url = f"http://127.0.0.1:{port}/api/v1/openapi.json"
            env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api_contract.hooks",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                   "COGROW_CONTRACT_MARKERS": MARKER}
            env.pop("COGROW_CONTRACT_TOKENS", None)
            import httpx

            spec = httpx.get(spec_url, timeout=30).json()
            # The workflow first, on the demo data as loaded.
            if not args.no_workflow:
                _linked, sources, create_po = links_of(spec)
                world.update(sources=sources, create_po=create_po)
                everything = sorted({op for name in tokens for op in operations_for(spec, name)})
                workflow = start_schemathesis("workflow", spec_url, args,
                                              {**env, "COGROW_CONTRACT_TOKENS": json.dumps(tokens),
                                               "COGROW_CONTRACT_WORLD": json.dumps(world)}, work, None,
                                              "stateful", args.workflow_examples, everything, WORKFLOW_CONFIG)
                results.append(finish_schemathesis(workflow, args))
                # A PO's own chain, alone: among every link a scenario rarely walks create -> issue -> acknowledge.
                po_chain_ops = ["createPurchaseOrder", "getPurchaseOrder", "issuePurchaseOrder",
                                "acknowledgePurchaseOrder"]
                po_flow = start_schemathesis("po-workflow", spec_url, args,
                                             {**env, "COGROW_CONTRACT_TOKENS": json.dumps(tokens),
                                              "COGROW_CONTRACT_WORLD": json.dumps(world)}, work, None,
                                             "stateful", args.workflow_examples, po_chain_ops, WORKFLOW_CONFIG)
                results.append(finish_schemathesis(po_flow, args))
            # Then the role runs, side by side (they share the server, as clients do; the prime admin's may
            # suspend the relationship the workflow needs, so the workflow goes first).
            runs = [start_schemathesis(name, spec_url, args, env, work, tokens[name], args.phases,
                                       args.max_examples, operations_for(spec, name))
                    for name in [r for r in args.roles.split(",") if r]]
            public = operations_for(spec, None)
            if public:
                runs.append(start_schemathesis("public", spec_url, args, env, work, None,
                                               args.phases.replace(",stateful", ""), args.max_examples, public))
            results += [finish_schemathesis(run, args) for run in runs]
            answered = _lines(access_log)
            chain = po_chain(access_log)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            server_log.close()
            errors = [line for line in (work / "gunicorn.log").read_text().splitlines()
                      if "Traceback" in line or "ERROR" in line]
        total = time.monotonic() - began

    print("\n=== contract run: requests per run")
    print(f"{'run':<22}{'operations':>11}{'requests':>10}{'seconds':>9}  result")
    for r in results:
        print(f"{r['name']:<22}{r['operations']:>11}{r['requests'] if r['requests'] is not None else '?':>10}"
              f"{r['seconds']:>9.1f}  {'ok' if r['exit'] == 0 else 'FAILED (exit %d)' % r['exit']}")
    print(f"{'total':<22}{'':>11}{sum(r['requests'] or 0 for r in results):>10}{total:>9.1f}  "
          f"(seeding {seeded:.1f} s; the server answered {answered} requests in all)")
    print(f"PO workflow (2xx answers): {chain['created']} created, {chain['issued']} issued, "
          f"{chain['acknowledged']} acknowledged")
    if errors:
        print("\ngunicorn logged errors:\n" + "\n".join(errors[:20]))
    failed = [r["name"] for r in results if r["exit"] != 0]
    if failed or errors:
        print(f"\nFAILED: {', '.join(failed) or 'gunicorn errors'}")
        return 1
    print("\nall runs passed: no 5xx, no answer outside the schema, no foreign tenant's data")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
