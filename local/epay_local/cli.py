"""The `epay` command: `serve` the local stack, `load-invoices` from a file, run a recovery pass (`reconcile`),
write the `openapi` document, `publish-page` to a deployed stage."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from epay_local.tables import LOCAL_TABLE_NAMES, ensure_tables, local_table_names
from epay_local.template import PROJECT_ROOT

DEFAULT_REGION = "eu-west-3"


def local_environment(host: str, port: int) -> dict[str, str]:
    """A working local value for every setting (api.md "Configuration"); variables already set win.

    These are the only local defaults: the functions' layer has none for what differs between the local stack and
    a deployment (epay.config), and a deployed function refuses these values.
    """
    base = f"http://{host}:{port}"
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
        **LOCAL_TABLE_NAMES,
        "EPAY_PUBLIC_API_URL": base,
        "EPAY_FRONTEND_URL": f"{base}/",
        "EPAY_CURSOR_SECRET": secrets.token_urlsafe(32),
        "EPAY_CHALLENGE_SECRET": secrets.token_urlsafe(32),
        # Only the loader uses it. A new key at each start suits the embedded DynamoDB, which starts empty; with
        # EPAY_DYNAMODB_ENDPOINT, set it to keep one across restarts (the loader refuses another key's table).
        "EPAY_INVOICE_ID_KEY": secrets.token_urlsafe(32),
        # Local gateway keys and merchants: the simulators under /_sim/ sign and verify with the same values.
        "EPAY_CMI_STORE_KEY": secrets.token_urlsafe(24),
        "EPAY_M2T_SECRET": secrets.token_urlsafe(24),
        "EPAY_FATOURATI_SECRET": secrets.token_urlsafe(24),
        "EPAY_CMI_CLIENT_ID": "600000000",
        "EPAY_CMI_GATEWAY_URL": f"{base}/_sim/cmi/est3Dgate",
        "EPAY_M2T_MERCHANT_ID": "PORTNET-TEST",
        "EPAY_M2T_GATEWAY_URL": f"{base}/_sim/m2t/checkout",
        # The gateways' merchant APIs (status, capture, void, refund), served by the same simulators.
        "EPAY_CMI_API_URL": f"{base}/_sim/cmi/api",
        "EPAY_CMI_API_USER": "epay-local-api",
        "EPAY_CMI_API_PASSWORD": secrets.token_urlsafe(24),
        "EPAY_M2T_API_URL": f"{base}/_sim/m2t",
        # Receipt e-mails go to the simulators' outbox (/_sim/mail) through their SES stand-in, never out.
        "EPAY_MAIL_FROM": "e-paiement@portnet.localhost",
        "EPAY_SES_ENDPOINT": f"{base}/_sim/ses",
        "POWERTOOLS_METRICS_NAMESPACE": "Epay",
        "POWERTOOLS_SERVICE_NAME": "epay",
    }


def apply_defaults(defaults: dict[str, str]) -> None:
    for name, value in defaults.items():
        if not os.environ.get(name):
            os.environ[name] = value


def _dynamodb_client() -> Any:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=os.environ["EPAY_DYNAMODB_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION),
    )


def _start_embedded_dynamodb() -> Any:
    from moto.server import ThreadedMotoServer

    from epay_local.moto_isolation import serialise_moto_dynamodb

    serialise_moto_dynamodb()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["EPAY_DYNAMODB_ENDPOINT"] = f"http://{host}:{port}"
    return server


def _parse(lines: list[bytes], label: str) -> list[Any] | None:
    """The file's records, or None after printing every bad line (then nothing may be written)."""
    from epay_local.loader import InvalidInvoiceFile, parse_invoice_records

    try:
        return parse_invoice_records(lines)
    except InvalidInvoiceFile as error:
        print(f"{label}: nothing loaded, {len(error.problems)} invalid line(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _write(records: list[Any], label: str) -> bool:
    """Load the records with their keyed ids; False after saying why nothing was written (never the key)."""
    from epay import clock, runtime
    from epay_local.loader import InvoiceIdKeyProblem, invoice_id_key, load_invoices

    try:
        key = invoice_id_key()
        invoices = [record.to_invoice(key) for record in records]
        outcomes = load_invoices(runtime.invoice_store(), invoices, clock.now(), key)
    except InvoiceIdKeyProblem as problem:
        print(f"{label}: nothing loaded: {problem}", file=sys.stderr)
        return False
    summary = ", ".join(f"{count} {outcome.value}" for outcome, count in sorted(outcomes.items()))
    print(f"{label}: {len(invoices)} invoice(s) read; {summary or 'nothing to do'}")
    return True


def _load(lines: list[bytes], label: str) -> bool:
    records = _parse(lines, label)
    return records is not None and _write(records, label)


def _settings_are_valid() -> bool:
    """Refuse to start on a bad setting, naming the variable (not its value: it may be a secret)."""
    from epay import runtime
    from epay.config import CMI_API_PASSWORD, GatewayApiSettings, InvalidSettings, check

    use_cases = (
        runtime.LOOKUP,
        runtime.RECEIPTS,
        runtime.PAYMENTS,
        runtime.CALLBACKS,
        runtime.IDEMPOTENCY,
        runtime.RECOVERY,
        runtime.RECEIPT_DOCUMENTS,
        runtime.MAILER,
    )
    try:
        # Every function's settings, and the merchant APIs' that the simulators answer.
        check(
            [*(model for use_case in use_cases for model in use_case.settings), GatewayApiSettings],
            [*(which for use_case in use_cases for which in use_case.secrets), CMI_API_PASSWORD],
        )
    except InvalidSettings as error:
        for variable, reason in error.problems:
            print(f"{variable}: {reason}", file=sys.stderr)
        return False
    return True


def serve(args: argparse.Namespace) -> int:
    import logging

    from werkzeug.serving import make_server

    from epay.config import LOCAL
    from epay_local.demo import DEMO_CODES, demo_lines
    from epay_local.gateway import LocalHttpApi
    from epay_local.simulators import Simulators

    apply_defaults(local_environment(args.host, args.port))
    # Whatever the shell holds, what runs here is the local stack (epay.config.is_deployed).
    os.environ[LOCAL] = "1"
    if not _settings_are_valid():
        return 2
    # The embedded DynamoDB and this server both log through werkzeug; one line per request is the gateway's.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    embedded = None
    if not os.environ.get("EPAY_DYNAMODB_ENDPOINT"):
        embedded = _start_embedded_dynamodb()
        store_label = f"embedded DynamoDB (moto) at {os.environ['EPAY_DYNAMODB_ENDPOINT']}"
    else:
        store_label = f"DynamoDB at {os.environ['EPAY_DYNAMODB_ENDPOINT']}"
    ensure_tables(_dynamodb_client(), local_table_names(dict(os.environ)))
    if args.demo and not _load(demo_lines(), "demo data"):
        return 1
    if args.seed and not _load(Path(args.seed).read_bytes().splitlines(), str(args.seed)):
        return 1
    origins = [origin for origin in os.environ.get("EPAY_CORS_ORIGINS", "").split(",") if origin]
    simulators = Simulators(os.environ["EPAY_PUBLIC_API_URL"])
    app = LocalHttpApi(allowed_origins=origins, static_dir=PROJECT_ROOT / "web", mounts={"/_sim/": simulators})
    server = make_server(args.host, args.port, app, threaded=True)
    base = f"http://{args.host}:{server.server_port}"
    print(f"E-Paiement local stack on {base}")
    print(f"  page:     {base}/")
    print(f"  API:      {base}/v1/invoices/search  (OpenAPI: {base}/v1/openapi.json)")
    print(f"  gateways: CMI, M2T and Fatourati simulators under {base}/_sim/ (bank channel: {base}/_sim/fatourati)")
    print(f"            their merchant APIs: {base}/_sim/cmi/api, {base}/_sim/m2t/orders/{{status,refund}}")
    print(f"  storage:  {store_label}")
    print(f"  mail:     receipts e-mailed to the outbox at {base}/_sim/mail (JSON: {base}/_sim/mail/messages)")
    if args.demo:
        print("  demo subscription codes:")
        for code, meaning in DEMO_CODES.items():
            print(f"    {code}  {meaning}")
        print(
            f"  try: curl -s -X POST {base}/v1/invoices/search -H 'Content-Type: application/json' "
            '-d \'{"subscription_code":"AB12"}\''
        )
    recovery = RecoveryLoop(int(os.environ.get("EPAY_RECOVERY_INTERVAL_SECONDS") or 30))
    print(f"  recovery: a pass every {recovery.interval} s (EPAY_RECOVERY_INTERVAL_SECONDS; operations-api.md §1)")
    print("Ctrl-C to stop.", flush=True)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    recovery.start()
    feeders = _stream_feeders()
    for feeder in feeders:
        feeder.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for feeder in feeders:
            feeder.stop()
        recovery.stop()
        server.server_close()
        if embedded is not None:
            embedded.stop()
    return 0


def _stream_feeders() -> list[Any]:
    """The template's stream consumers (the receipt mailer), each fed its table's stream as Lambda would feed it."""
    import boto3

    from epay_local.streams import StreamFeeder
    from epay_local.template import stream_consumers

    names = local_table_names(dict(os.environ))
    region = os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)
    endpoint = os.environ["EPAY_DYNAMODB_ENDPOINT"]
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
    feeders = []
    for consumer in stream_consumers():
        table = _dynamodb_client().describe_table(TableName=names[consumer.table])["Table"]
        feeders.append(StreamFeeder(streams, table["LatestStreamArn"], consumer))
    return feeders


class RecoveryLoop:
    """`epay serve`'s stand-in for the schedule: a recovery pass every `interval` seconds, in a thread of its own,
    one line printed when a pass did something a person would want to see."""

    NOTEWORTHY = ("recovered", "expired", "captured", "reversed", "needs an operator", "store failed", "no answer")

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recovery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from epay import runtime

        while not self._stopping.wait(self.interval):
            try:
                report = runtime.recovery_service().run_pass()
            except Exception as error:  # the loop must outlive a bad pass; the next one tries again
                print(f"recovery: pass failed ({type(error).__name__})", file=sys.stderr, flush=True)
                continue
            visits = {visit.value: count for visit, count in report.visits.items() if count}
            noteworthy = {name: count for name, count in visits.items() if name in self.NOTEWORTHY}
            if noteworthy:
                summary = ", ".join(f"{count} {name}" for name, count in sorted(noteworthy.items()))
                print(f"recovery: {summary}", flush=True)


def _use_table(args: argparse.Namespace) -> bool:
    """Point the stores at `--table` / `--endpoint-url` (an operator's tool: AWS credentials as usual); False after
    saying what is missing."""
    if args.table:
        os.environ["EPAY_TABLE"] = args.table
    if args.endpoint_url:
        os.environ["EPAY_DYNAMODB_ENDPOINT"] = args.endpoint_url
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    if os.environ.get("EPAY_DYNAMODB_ENDPOINT"):
        # Local endpoints accept any credentials, and hold the local stack's table unless told otherwise; real AWS
        # ones come from the usual AWS configuration, and the stack's table must be named.
        apply_defaults(
            {
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "EPAY_TABLE": LOCAL_TABLE_NAMES["EPAY_TABLE"],
            }
        )
        # A local endpoint (moto, DynamoDB Local) may be empty: give it the template's tables first.
        ensure_tables(_dynamodb_client(), local_table_names(dict(os.environ)))
    if not os.environ.get("EPAY_TABLE"):
        print("EPAY_TABLE: required, not set (give --table, e.g. epay-<stage>)", file=sys.stderr)
        return False
    return True


def load_invoices_command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    records = _parse(path.read_bytes().splitlines(), str(path))
    if records is None:
        return 1
    if not _use_table(args):
        return 2
    return 0 if _write(records, str(path)) else 2


def migrate_invoice_ids_command(args: argparse.Namespace) -> int:
    """Exit 0 when every invoice and payment is keyed; 3 when some wait for live payments (run again after the
    time printed); 1 when some need an operator (see docs/operations.md)."""
    from epay import clock, runtime
    from epay_local.loader import InvoiceIdKeyProblem, invoice_id_key
    from epay_local.migration import migrate_invoice_ids

    if not _use_table(args):
        return 2
    try:
        report = migrate_invoice_ids(runtime.invoice_store(), runtime.payment_store(), invoice_id_key(), clock.now())
    except InvoiceIdKeyProblem as problem:
        print(f"nothing migrated: {problem}", file=sys.stderr)
        return 2
    print(
        f"moved {report.invoices_moved} invoice(s) to their keyed id and rewrote the lines of "
        f"{report.payments_rewritten} payment(s); {report.invoices_already_keyed} invoice(s) were already keyed"
    )
    if report.invoices_held or report.payments_live:
        wait = clock.iso_instant(report.wait_until) if report.wait_until is not None else "their payments end"
        print(
            f"left for a later run: {report.invoices_held} invoice(s) held by a live payment, "
            f"{report.payments_live} live payment(s); run again after {wait}"
        )
    if report.needs_operator:
        print(
            f"needs an operator: {report.invoices_under_both_ids} invoice(s) stored under both ids, "
            f"{report.invoices_under_unknown_ids} under an id made with another key (docs/operations.md)",
            file=sys.stderr,
        )
        return 1
    if report.complete:
        print("complete: no invoice or payment names a legacy id any longer")
        return 0
    return 3


# What `epay reconcile` takes from the local stack when it is pointed at a local DynamoDB endpoint and they are not
# set: the same non-secret values `epay serve` uses. Secrets never have a default here: they must be the stack's.
RECONCILE_LOCAL_DEFAULTS = (
    "EPAY_CMI_CLIENT_ID",
    "EPAY_M2T_MERCHANT_ID",
    "EPAY_CMI_API_USER",
    "EPAY_CMI_API_URL",
    "EPAY_M2T_API_URL",
)


def reconcile_command(args: argparse.Namespace) -> int:
    """One recovery pass now (operations-api.md §1). Exit 0 when the pass completed, whatever the gateways answered;
    1 when the store failed (what was not done stays due); 2 when a setting is missing or wrong."""
    import json

    from epay import runtime
    from epay.config import InvalidSettings, check
    from epay.observability import logger
    from epay.recovery import STORE_FAILURES

    # The pass's log lines (JSON, one per gateway call and change) go to stderr; stdout holds the report alone.
    logger.registered_handler.setStream(sys.stderr)  # type: ignore[attr-defined]
    try:
        if not _use_table(args):
            return 2
    except STORE_FAILURES as error:
        print(f"the store failed ({type(error).__name__}): nothing was done", file=sys.stderr)
        return 1
    if os.environ.get("EPAY_DYNAMODB_ENDPOINT"):
        local = local_environment(args.host, args.port)
        apply_defaults({name: local[name] for name in RECONCILE_LOCAL_DEFAULTS})
    try:
        check(runtime.RECOVERY.settings, runtime.RECOVERY.secrets)
    except InvalidSettings as error:
        for variable, reason in error.problems:
            print(f"{variable}: {reason}", file=sys.stderr)
        return 2
    report = runtime.recovery_service().run_pass()
    print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    if not report.completed:
        print(f"the store failed: {report.store_failures} visit(s) not completed; run again", file=sys.stderr)
        return 1
    return 0


def schedule_recovery_command(args: argparse.Namespace) -> int:
    """Exit 0 when every payment that owes a check has one (run again if some changed meanwhile: exit 3)."""
    from epay import clock, runtime
    from epay_local.recovery_backfill import schedule_recovery

    if not _use_table(args):
        return 2
    report = schedule_recovery(runtime.payment_store(), clock.now())
    print(
        f"scheduled {report.scheduled} payment(s) for a recovery check now ({report.captures_to_check} to check a "
        f"capture); {report.already_scheduled} already had one; {report.owing_nothing} owe none"
    )
    if report.changed_meanwhile:
        print(f"{report.changed_meanwhile} payment(s) kept changing: run again", file=sys.stderr)
        return 3
    return 0


def send_receipts_command(args: argparse.Namespace) -> int:
    """Send the receipt e-mails of a day that are still unsent (after the mailer gave up: docs/operations.md,
    "Receipt e-mails"). Exit 0 when every one was sent or refused for good, 1 when some failed again."""
    from epay import runtime
    from epay.config import InvalidSettings, check
    from epay.receipt_mailer import Delivery

    if not _use_table(args):
        return 2
    try:
        check(runtime.MAILER.settings, runtime.MAILER.secrets)
    except InvalidSettings as error:
        for variable, reason in error.problems:
            print(f"{variable}: {reason}", file=sys.stderr)
        return 2
    mailer = runtime.receipt_mailer()
    outcomes: dict[str, int] = {}
    for mail in mailer.unsent(args.day):
        try:
            outcome = mailer.deliver(mail).value
        except Exception as error:
            outcome = f"not sent ({type(error).__name__})"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    print(f"{args.day}: {summary or 'no unsent receipt e-mail'}")
    done = {Delivery.SENT.value, Delivery.ALREADY_DONE.value, Delivery.FAILED.value, Delivery.UNKNOWN.value}
    return 0 if set(outcomes) <= done else 1


def openapi_command(args: argparse.Namespace) -> int:
    from epay_local.openapi_build import build_document, write_document
    from epay_local.web_contract import write_contract
    from epay_local.web_errors import write_errors

    if args.write:
        document = write_document()
        print("layers/common/epay/openapi.json written")
        write_contract(document)
        print("web/js/contract.js written (the page's patterns, gateways and methods)")
        write_errors()
        print("web/js/errors.js written (the French of every error code and gateway reason)")
    else:
        import json

        print(json.dumps(build_document(), indent=2, ensure_ascii=False))
    return 0


def publish_page_command(args: argparse.Namespace) -> int:
    from epay_local.page_release import ReleaseError, Stage, build_release, publish, stack_of

    try:
        release = build_release(Path(args.web_dir), args.api_base_url)
    except ReleaseError as error:
        print(f"epay publish-page: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        for item in release.objects():
            print(f"{item.key}\t{item.content_type}\t{item.cache_control}\t{len(item.body)} bytes")
        print(f"release {release.release_id}: {len(release.objects())} files, nothing written (--dry-run)")
        return 0
    import boto3

    try:
        stack_name, region = stack_of(args.config_env)
    except ReleaseError as error:
        print(f"epay publish-page: {error}", file=sys.stderr)
        return 2
    stack_name, region = args.stack or stack_name, args.region or region
    (described,) = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)["Stacks"]
    try:
        stage = Stage.from_stack(described)
    except ReleaseError as error:
        print(f"epay publish-page: {stack_name}: {error}", file=sys.stderr)
        return 2
    problems = stage.address_problems()
    if problems and not args.allow_other_addresses:
        for problem in problems:
            print(f"epay publish-page: {stack_name}: {problem}", file=sys.stderr)
        print("  deploy again with those parameters (docs/operations.md, 'Deploying the page')", file=sys.stderr)
        return 2
    invalidation = publish(
        release, stage, boto3.client("s3", region_name=region), boto3.client("cloudfront", region_name=region)
    )
    print(f"release {release.release_id} published to s3://{stage.bucket}/ ({len(release.objects())} files)")
    print(f"index.html invalidated on {stage.distribution_id} ({invalidation}); the page: {stage.page_url}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="epay", description="E-Paiement pour un tiers: local stack and tools.")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the API, the page and the gateway simulators locally")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--seed", metavar="FILE.jsonl", help="load these invoices first")
    run.add_argument("--demo", action="store_true", help="load the demo subscription codes")
    run.set_defaults(func=serve)
    load = commands.add_parser("load-invoices", help="validate a JSON Lines file, then upsert its invoices")
    load.add_argument("file", metavar="FILE.jsonl")
    load.add_argument("--table", help="table name (default: EPAY_TABLE)")
    load.add_argument("--endpoint-url", help="DynamoDB endpoint (default: EPAY_DYNAMODB_ENDPOINT or AWS)")
    load.set_defaults(func=load_invoices_command)
    migrate = commands.add_parser(
        "migrate-invoice-ids",
        help="one-off batch: move invoices from their legacy (unkeyed) ids to keyed ids (docs/operations.md)",
    )
    migrate.add_argument("--table", help="table name (default: EPAY_TABLE)")
    migrate.add_argument("--endpoint-url", help="DynamoDB endpoint (default: EPAY_DYNAMODB_ENDPOINT or AWS)")
    migrate.set_defaults(func=migrate_invoice_ids_command)
    reconcile = commands.add_parser(
        "reconcile",
        help="run one recovery pass now: ask the gateways about payments due for a check (operations-api.md §1)",
    )
    reconcile.add_argument("--table", help="table name (default: EPAY_TABLE)")
    reconcile.add_argument("--endpoint-url", help="DynamoDB endpoint (default: EPAY_DYNAMODB_ENDPOINT or AWS)")
    reconcile.add_argument("--host", default="127.0.0.1", help="the local stack's host, for its simulators' APIs")
    reconcile.add_argument("--port", type=int, default=8080, help="the local stack's port, for its simulators' APIs")
    reconcile.set_defaults(func=reconcile_command)
    backfill = commands.add_parser(
        "schedule-recovery",
        help="one-off after deploying recovery: mark the payments written before it that owe a check (a Scan)",
    )
    backfill.add_argument("--table", help="table name (default: EPAY_TABLE)")
    backfill.add_argument("--endpoint-url", help="DynamoDB endpoint (default: EPAY_DYNAMODB_ENDPOINT or AWS)")
    backfill.set_defaults(func=schedule_recovery_command)
    page = commands.add_parser(
        "publish-page",
        help="write web/ to a deployed stage's page bucket as a versioned release and invalidate index.html",
    )
    page.add_argument("--config-env", default="default", help="samconfig.toml environment (stack name and Region)")
    page.add_argument("--stack", help="stack name (default: samconfig.toml's)")
    page.add_argument("--region", help="the stack's Region (default: samconfig.toml's)")
    page.add_argument("--web-dir", default=str(PROJECT_ROOT / "web"), help="the page's files (default: web/)")
    page.add_argument("--api-base-url", default="", help="config.js's API base (default \"\": the page's origin)")
    page.add_argument("--dry-run", action="store_true", help="print the objects and their headers, write nothing")
    page.add_argument(
        "--allow-other-addresses",
        action="store_true",
        help="publish even when PublicApiUrl or FrontendUrl is not the page's address (first deployment)",
    )
    page.set_defaults(func=publish_page_command)
    receipts = commands.add_parser(
        "send-receipts",
        help="send a day's receipt e-mails still unsent in the outbox (after the mailer gave up; docs/operations.md)",
    )
    receipts.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="the day (UTC) the payments settled")
    receipts.add_argument("--table", help="table name (default: EPAY_TABLE)")
    receipts.add_argument("--endpoint-url", help="DynamoDB endpoint (default: EPAY_DYNAMODB_ENDPOINT or AWS)")
    receipts.set_defaults(func=send_receipts_command)
    spec = commands.add_parser("openapi", help="print (or --write) the OpenAPI document of the API")
    spec.add_argument(
        "--write",
        action="store_true",
        help="write layers/common/epay/openapi.json and the page's web/js/contract.js and web/js/errors.js",
    )
    spec.set_defaults(func=openapi_command)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
