#!/usr/bin/env python3
"""Benchmarks of kam_management on a synthetic database: the 80/20 engine, then the other modules.

Builds (or reuses) a database with N customer companies, M posted customer invoices and the
effort of the cost-to-serve benchmark (visits and other costs), then measures, inside an Odoo
environment, the 80/20 engine (``kam.classification._reclassify_company``, which computes the
cost-to-serve figures in the same statement):

* F, the floor: the bare aggregate-and-rank statement (``_ranking_sql``), fetched whole;
* F figures: the bare cost-to-serve aggregate (``kam.account.fact._figures_sql``), fetched whole;
* T first: ``_reclassify_company`` on an empty classification table, commit included, with
  and without the cost figures;
* T steady: the same run again on the same data and date (must change nothing), and the same
  run with the cost figures left out (``kam_without_cost_figures``: the classification alone).

Goals: T first <= 4 x F, T steady <= 2 x F for the classification alone (the issue's T); the
whole run, which also computes the cost figures, is held to the same goals against its own
floor, F + F figures. Then it runs the other benchmark modules, each through its ``run(...)``
function: bench_cost_to_serve.py, bench_reports.py and bench_kpi.py (``--only`` picks some). A
module that fails is reported and the others still run; the exit code is then non-zero.
See bench/README.md and docs/benchmarks.md.

    python3 bench/run_bench.py [--db kam_bench] [--customers 100000] [--invoices 1000000] [--reuse]

Every option can also be given in the environment: BENCH_DB, BENCH_CUSTOMERS, BENCH_INVOICES,
BENCH_REUSE=1, BENCH_REPEAT, BENCH_EXPLAIN=1, BENCH_ONLY, ...  ODOO_ADDONS_PATH replaces the
addons path computed from the location of Odoo, and ODOO_RC (an Odoo configuration file) is
read by Odoo.
"""

import argparse
import contextlib
import cProfile
import datetime
import functools
import hashlib
import io
import json
import os
import platform
import pstats
import resource
import shlex
import subprocess
import sys
import threading
import time
import tracemalloc

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = "kam_management"
MARKER_KEY = "kam_bench.dataset"  # ir.config_parameter holding the description of the data set
GOAL_FIRST = 4.0
GOAL_STEADY = 2.0
MODULES = ("engine", "cost", "reports", "kpi")

try:
    import odoo
except ImportError:  # pragma: no cover
    sys.exit("run_bench: cannot import odoo; run it with the Python that runs Odoo 18.0")


def odoo_addons_path():
    """The repository root plus Odoo's own addons directories, found at run time."""
    if os.environ.get("ODOO_ADDONS_PATH"):
        return os.environ["ODOO_ADDONS_PATH"]
    odoo_dir = os.path.dirname(os.path.abspath(odoo.__file__))
    candidates = [
        REPO_ROOT,
        os.path.join(odoo_dir, "addons"),
        os.path.normpath(os.path.join(odoo_dir, os.pardir, "addons")),
    ]
    seen = []
    for path in candidates:
        if os.path.isdir(path) and path not in seen:
            seen.append(path)
    return ",".join(seen)


# ----------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------
def _env(name, default):
    return os.environ.get("BENCH_" + name, default)


def _env_flag(name):
    return _env(name, "").lower() in ("1", "true", "yes", "on")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=_env("DB", "kam_bench"), help="database name (default kam_bench)")
    p.add_argument("--customers", type=int, default=int(_env("CUSTOMERS", 100_000)))
    p.add_argument("--invoices", type=int, default=int(_env("INVOICES", 1_000_000)))
    p.add_argument("--refund-ratio", type=float, default=float(_env("REFUND_RATIO", 0.05)))
    p.add_argument("--months", type=int, default=int(_env("MONTHS", 24)), help="history spread of the invoices")
    p.add_argument("--seed", type=float, default=float(_env("SEED", 0.42)), help="PostgreSQL setseed() value")
    p.add_argument(
        "--reuse",
        action="store_true",
        default=_env_flag("REUSE"),
        help="keep the database if it already holds this data set",
    )
    p.add_argument(
        "--force-drop",
        action="store_true",
        default=_env_flag("FORCE_DROP"),
        help="drop the database even if this script did not create it",
    )
    p.add_argument(
        "--first-repeat",
        type=int,
        default=int(_env("FIRST_REPEAT", 3)),
        help="best of N for T first (each on a freshly emptied table)",
    )
    p.add_argument("--repeat", type=int, default=int(_env("REPEAT", 3)), help="best of N for F and T steady")
    p.add_argument(
        "--no-memory",
        action="store_true",
        default=_env_flag("NO_MEMORY"),
        help="skip the extra tracemalloc runs (Python peak memory)",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        default=_env_flag("EXPLAIN"),
        help="print EXPLAIN (ANALYZE, BUFFERS) of the ranking and the candidate statements",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        default=_env_flag("PROFILE"),
        help="cProfile an extra first run and print the top Python functions",
    )
    p.add_argument(
        "--top-queries",
        type=int,
        default=int(_env("TOP_QUERIES", 8)),
        help="slowest statements listed per measured run",
    )
    p.add_argument("--json", default=_env("JSON", ""), help="write the figures to this JSON file")
    p.add_argument(
        "--only",
        default=_env("ONLY", ",".join(MODULES)),
        help=f"comma-separated benchmarks to run, among {', '.join(MODULES)} (default: all)",
    )
    p.add_argument("--visits", type=int, default=int(_env("VISITS", 300_000)), help="visits of the data set")
    p.add_argument("--entries", type=int, default=int(_env("ENTRIES", 100_000)), help="other costs of the data set")
    p.add_argument(
        "--kpi-accounts", type=int, default=int(_env("KPI_ACCOUNTS", 20_000)), help="key accounts of the KPI bench"
    )
    p.add_argument(
        "--portfolio-accounts",
        type=int,
        default=int(_env("PORTFOLIO_ACCOUNTS", 200)),
        help="accounts of the KAM Portfolio PDF",
    )
    args = p.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(MODULES))
    if unknown:
        p.error(f"--only: unknown benchmark {', '.join(unknown)}; choose among {', '.join(MODULES)}")
    if args.customers < 1 or args.invoices < 1:
        p.error("--customers and --invoices must be positive")
    return args


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------
# Database helpers
# ----------------------------------------------------------------------------------------
def admin_connection(dbname="postgres"):
    import psycopg2

    _db, info = odoo.sql_db.connection_info_for(dbname)
    cnx = psycopg2.connect(**info)
    cnx.autocommit = True
    return cnx


def db_exists(name):
    with contextlib.closing(admin_connection()) as cnx, cnx.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def read_marker(name):
    """The data-set description stored by a previous build, or None."""
    with contextlib.closing(admin_connection(name)) as cnx, cnx.cursor() as cr:
        cr.execute("SELECT to_regclass('ir_config_parameter') IS NOT NULL")
        if not cr.fetchone()[0]:
            return None
        cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", [MARKER_KEY])
        row = cr.fetchone()
        return json.loads(row[0]) if row else None


def drop_db(name):
    with contextlib.closing(admin_connection()) as cnx, cnx.cursor() as cr:
        cr.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        cr.execute(f'DROP DATABASE IF EXISTS "{name}"')


def vacuum_analyze(dbname, tables):
    with contextlib.closing(admin_connection(dbname)) as cnx, cnx.cursor() as cr:
        for table in tables:
            cr.execute(f"VACUUM (ANALYZE) {table}")


# ----------------------------------------------------------------------------------------
# Building the data set
# ----------------------------------------------------------------------------------------
def install_module(args, update=False):
    cmd = [
        sys.executable,
        "-m",
        "odoo",
        "-d",
        args.db,
        f"--addons-path={odoo_addons_path()}",
        "-u" if update else "-i",
        MODULE,
        "--stop-after-init",
        "--without-demo=all",
        "--log-level=warn",
    ]
    log(("update: " if update else "install: ") + " ".join(shlex.quote(c) for c in cmd))
    subprocess.run(cmd, check=True)


def addon_digest():
    """Digest of the addon's source files: a reused database is updated when it changes."""
    digest = hashlib.sha256()
    root = os.path.join(REPO_ROOT, MODULE)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:16]


def source_version():
    """``git describe`` of the repository (``-dirty`` when the work tree differs), if any."""
    try:
        out = subprocess.run(
            ["git", "-C", REPO_ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def sale_journal(env, company):
    Journal = env["account.journal"]
    journal = Journal.search([("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
    if not journal and not company.chart_template:
        env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
        journal = Journal.search([("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
    if not journal:
        journal = Journal.create({"name": "Customer Invoices", "code": "INV", "type": "sale", "company_id": company.id})
    return journal


PARTNERS_SQL = """
INSERT INTO res_partner (
    id, commercial_partner_id, name, complete_name, commercial_company_name, ref,
    is_company, active, type, lang, autopost_bills, customer_rank, supplier_rank,
    partner_share, employee, color, create_uid, write_uid, create_date, write_date)
SELECT s.id, s.id, s.name, s.name, s.name, 'KB' || lpad(s.g::text, 7, '0'),
       true, true, 'contact', 'en_US', 'ask', 1, 0,
       true, false, 0, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM (SELECT nextval('res_partner_id_seq') AS id, g,
               'Bench Customer ' || lpad(g::text, 7, '0') AS name
          FROM generate_series(1, %(n)s) g) s
"""

# size_rank = floor(N * u^3): the invoice count of a customer falls off as rank^(-2/3); the
# amount of an invoice (log-normal) falls off as rank^(-0.2).  Revenue density ~ rank^(-0.87),
# so the best 20 % of the customers make about 80 % of the revenue.
INVOICES_SQL = """
INSERT INTO account_move (
    journal_id, company_id, currency_id, partner_id, commercial_partner_id,
    name, sequence_prefix, sequence_number, ref, state, move_type, auto_post,
    date, invoice_date, invoice_date_due, invoice_partner_display_name, payment_state,
    invoice_currency_rate, amount_untaxed, amount_tax, amount_total, amount_residual,
    amount_untaxed_signed, amount_untaxed_in_currency_signed, amount_tax_signed,
    amount_total_signed, amount_total_in_currency_signed, amount_residual_signed,
    is_storno, always_tax_exigible, checked, posted_before, made_sequence_gap,
    is_manually_modified, is_move_sent, create_uid, write_uid, create_date, write_date)
SELECT %(journal)s, %(company)s, %(currency)s, c.partner_id, c.partner_id,
       v.prefix || lpad(v.g::text, 7, '0'), v.prefix, v.g, NULL, 'posted', v.move_type, 'no',
       v.invoice_date, v.invoice_date, v.invoice_date + 30, c.name, 'not_paid',
       1.0, v.amount, 0, v.amount, v.amount,
       v.sign * v.amount, v.sign * v.amount, 0,
       v.sign * v.amount, v.sign * v.amount, v.sign * v.amount,
       false, false, true, true, false,
       false, true, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM (SELECT s.g, s.size_rank, s.invoice_date,
               CASE WHEN s.is_refund THEN 'out_refund' ELSE 'out_invoice' END AS move_type,
               CASE WHEN s.is_refund THEN -1 ELSE 1 END AS sign,
               (CASE WHEN s.is_refund THEN 'RINV/' ELSE 'INV/' END)
                   || to_char(s.invoice_date, 'YYYY') || '/' AS prefix,
               round((10 + 400 * exp(0.9 * sqrt(-2 * ln(1 - s.u1)) * cos(2 * pi() * s.u2))
                      * power((s.size_rank + 1)::float8 / %(n)s, -0.2)
                      * CASE WHEN s.is_refund THEN 0.5 ELSE 1 END)::numeric, 2) AS amount
          FROM (SELECT g,
                       floor(%(n)s * power(random(), 3))::int AS size_rank,
                       random() < %(refund_ratio)s AS is_refund,
                       %(run_date)s::date - floor(random() * %(days)s)::int AS invoice_date,
                       random() AS u1, random() AS u2
                  FROM generate_series(1, %(m)s) g) s) v
  JOIN bench_customer c ON c.size_rank = v.size_rank
"""


def build(args):
    if db_exists(args.db):
        marker = None
        with contextlib.suppress(Exception):
            marker = read_marker(args.db)
        if marker is None and not args.force_drop:
            sys.exit(
                f"run_bench: database {args.db!r} exists and was not built by this script; "
                "pick another --db or pass --force-drop"
            )
        log(f"dropping database {args.db}")
        drop_db(args.db)

    t_start = time.perf_counter()
    install_module(args)
    t_installed = time.perf_counter()

    registry = odoo.modules.registry.Registry(args.db)
    run_date = datetime.date.today()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        # Mark the database as ours first, so that a failed build can be dropped next time.
        env["ir.config_parameter"].set_param(MARKER_KEY, json.dumps({"complete": False}))
        company = env.ref("base.main_company")
        journal = sale_journal(env, company)
        env.flush_all()
        cr.commit()

        log(f"inserting {args.customers:,} customers")
        t0 = time.perf_counter()
        cr.execute("SELECT COALESCE(max(id), 0) FROM res_partner")
        max_partner = cr.fetchone()[0]
        cr.execute(PARTNERS_SQL, {"n": args.customers})
        cr.execute("SELECT setseed(%s)", [args.seed])
        cr.execute(
            """
            CREATE TEMP TABLE bench_customer AS
            SELECT (row_number() OVER (ORDER BY random()) - 1)::int AS size_rank, id AS partner_id, name
              FROM res_partner WHERE id > %s AND name LIKE 'Bench Customer %%'
            """,
            [max_partner],
        )
        cr.execute("CREATE UNIQUE INDEX ON bench_customer (size_rank)")
        cr.execute("ANALYZE bench_customer")
        t_partners = time.perf_counter() - t0

        log(f"inserting {args.invoices:,} posted invoices (indexes of account_move rebuilt afterwards)")
        t0 = time.perf_counter()
        cr.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
             WHERE i.schemaname = current_schema() AND i.tablename = 'account_move'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                WHERE c.conrelid = 'account_move'::regclass AND c.conname = i.indexname)
            """
        )
        indexes = cr.fetchall()
        for name, _def in indexes:
            cr.execute(f'DROP INDEX "{name}"')
        cr.execute("SET LOCAL maintenance_work_mem = '512MB'")
        days = (run_date - (run_date - datetime.timedelta(days=round(args.months * 365.25 / 12)))).days
        cr.execute(
            INVOICES_SQL,
            {
                "journal": journal.id,
                "company": company.id,
                "currency": company.currency_id.id,
                "n": args.customers,
                "m": args.invoices,
                "refund_ratio": args.refund_ratio,
                "run_date": run_date,
                "days": days,
            },
        )
        inserted = cr.rowcount
        t_insert = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _name, definition in indexes:
            cr.execute(definition)
        t_indexes = time.perf_counter() - t0
        cr.execute("DROP TABLE bench_customer")
        marker = {
            "complete": True,
            "addon_digest": addon_digest(),
            "customers": args.customers,
            "invoices": inserted,
            "refund_ratio": args.refund_ratio,
            "months": args.months,
            "seed": args.seed,
            "run_date": run_date.isoformat(),
            "company_id": company.id,
            "built_on": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        env["ir.config_parameter"].set_param(MARKER_KEY, json.dumps(marker))
        cr.commit()

    log("VACUUM ANALYZE")
    t0 = time.perf_counter()
    vacuum_analyze(args.db, ["res_partner", "account_move"])
    t_vacuum = time.perf_counter() - t0
    marker["build_seconds"] = {
        "install": round(t_installed - t_start, 1),
        "customers": round(t_partners, 1),
        "invoices": round(t_insert, 1),
        "indexes": round(t_indexes, 1),
        "vacuum_analyze": round(t_vacuum, 1),
        "total": round(time.perf_counter() - t_start, 1),
    }
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param(MARKER_KEY, json.dumps(marker))
    log(f"built in {marker['build_seconds']['total']:.0f} s: {marker['build_seconds']}")
    return registry, marker


def prepare(args):
    if args.reuse and db_exists(args.db):
        marker = None
        with contextlib.suppress(Exception):
            marker = read_marker(args.db)
        if (
            marker
            and marker.get("complete")
            and marker.get("customers") == args.customers
            and marker.get("invoices") == args.invoices
        ):
            log(f"reusing database {args.db} built on {marker.get('built_on')}")
            digest = addon_digest()
            if marker.get("addon_digest") != digest:
                install_module(args, update=True)
                marker["addon_digest"] = digest
                registry = odoo.modules.registry.Registry.new(args.db)
                with registry.cursor() as cr:
                    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                    env["ir.config_parameter"].set_param(MARKER_KEY, json.dumps(marker))
                return registry, marker
            return odoo.modules.registry.Registry(args.db), marker
        log(f"database {args.db} does not hold this data set: rebuilding")
    return build(args)


# ----------------------------------------------------------------------------------------
# Instrumentation: statements (through Odoo's query hooks) and phases (method wrappers)
# ----------------------------------------------------------------------------------------
class Recorder:
    """Counts the statements of the current thread and times the engine's phases."""

    def __init__(self):
        self.queries = []  # (first line, seconds, rowcount)
        self.phases = []  # (depth, name, wall, sql seconds, statements, note)
        self.depth = 0
        self.capture = {}  # name -> mogrified statement, for EXPLAIN

    def hook(self, cr, query, params, start, delay):
        text = query.decode() if isinstance(query, bytes) else str(query)
        head = " ".join(text.split())[:110]
        self.queries.append((head, delay, cr._obj.rowcount))
        if "FULL JOIN ranked n" in text and "candidates" not in self.capture:
            self.capture["candidates"] = cr._obj.query.decode()

    @property
    def sql_time(self):
        return sum(q[1] for q in self.queries)

    @contextlib.contextmanager
    def active(self):
        thread = threading.current_thread()
        hooks = getattr(thread, "query_hooks", None)
        if hooks is None:
            hooks = thread.query_hooks = []
        hooks.append(self.hook)
        try:
            yield self
        finally:
            hooks.remove(self.hook)

    def wrap(self, model_class, method_name, note=None):
        original = getattr(model_class, method_name)
        recorder = self

        @functools.wraps(original)
        def wrapper(*a, **kw):
            if not recorder.enabled:
                return original(*a, **kw)
            entry = [recorder.depth, f"{model_class._name}.{method_name}", 0.0, 0.0, 0, ""]
            recorder.phases.append(entry)
            n0, s0, t0 = len(recorder.queries), recorder.sql_time, time.perf_counter()
            recorder.depth += 1
            try:
                result = original(*a, **kw)
            finally:
                recorder.depth -= 1
                entry[2] = time.perf_counter() - t0
                entry[3] = recorder.sql_time - s0
                entry[4] = len(recorder.queries) - n0
            if note:
                entry[5] = note(a, kw, result)
            return result

        setattr(model_class, method_name, wrapper)

    enabled = False


# (model, method, note): the phases timed when the addon has them (other parts of the addon
# may extend the engine; the methods that do not exist are left out).
PHASES = [
    ("kam.classification", "_acquire_run_lock", None),
    ("kam.classification.run", "create", None),
    ("kam.classification", "_apply_stage", lambda a, kw, r: f"{r['written']:,} rows, {r['changed']:,} tier changes"),
    ("kam.classification.run", "_after_apply", None),
    ("kam.classification.run", "_post_first_classifications", None),
    ("kam.classification.run", "_ask_directors_to_assign", lambda a, kw, r: f"{len(a[-1]):,} unassigned"),
    ("kam.classification.run", "_notify_demoted_managers", None),
    ("kam.classification", "_refresh_cost_to_serve", None),
    ("kam.classification", "_write_cost_figures", None),
]


def install_wrappers(registry, recorder):
    for model, method, note in PHASES:
        if model in registry and hasattr(registry[model], method):
            recorder.wrap(registry[model], method, note=note)


# ----------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------
def reset_classification(registry, company_id, dbname):
    """Empty the engine's tables (and what it wrote elsewhere) for a first run."""
    with registry.cursor() as cr:
        cr.execute("SELECT partner_id FROM res_users WHERE id = %s", [odoo.SUPERUSER_ID])
        author = cr.fetchone()[0]
        cr.execute(
            """
            DELETE FROM mail_message
             WHERE model = 'res.partner' AND message_type = 'notification'
               AND author_id = %s AND record_company_id = %s
            """,
            [author, company_id],
        )
        for table, column in (
            ("mail_message", "model"),
            ("mail_activity", "res_model"),
            ("mail_followers", "res_model"),
        ):
            cr.execute(f"DELETE FROM {table} WHERE {column} = 'kam.classification.run'")
        cr.execute(
            "DELETE FROM kam_tier_history WHERE classification_id IN "
            "(SELECT id FROM kam_classification WHERE company_id = %s)",
            [company_id],
        )
        cr.execute("DELETE FROM kam_classification WHERE company_id = %s", [company_id])
        cr.execute("DELETE FROM kam_classification_run WHERE company_id = %s", [company_id])
        cr.execute("DELETE FROM bus_bus")
    vacuum_analyze(
        dbname,
        ["kam_classification", "kam_tier_history", "kam_classification_run", "mail_message", "res_partner"],
    )
    registry.clear_all_caches()


def table_counts(cr, company_id):
    cr.execute(
        """
        SELECT (SELECT count(*) FROM kam_classification WHERE company_id = %(c)s),
               (SELECT count(*) FROM kam_tier_history h JOIN kam_classification k ON k.id = h.classification_id
                 WHERE k.company_id = %(c)s),
               (SELECT count(*) FROM mail_message WHERE model = 'res.partner'),
               -- The newest transaction that wrote a row: a run that rewrites any row moves it.
               (SELECT max(xmin::text::bigint) FROM kam_classification WHERE company_id = %(c)s),
               (SELECT count(*) FROM kam_classification WHERE company_id = %(c)s AND tier = 'a'),
               (SELECT count(*) FROM kam_classification WHERE company_id = %(c)s AND tier = 'b'),
               (SELECT count(*) FROM kam_classification WHERE company_id = %(c)s AND tier = 'c')
        """,
        {"c": company_id},
    )
    keys = ("classifications", "history", "partner_messages", "last_writer", "a", "b", "c")
    return dict(zip(keys, cr.fetchone(), strict=True))


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_floor(registry, company_id, run_date):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].browse(company_id)
        query = env["kam.classification"]._ranking_sql(company, run_date)
        n0 = cr.sql_log_count
        t0 = time.perf_counter()
        cr.execute(query)
        rows = cr.fetchall()
        elapsed = time.perf_counter() - t0
        return elapsed, len(rows), cr.sql_log_count - n0


def measure_floor_figures(registry, company_id, run_date):
    """The bare cost-to-serve aggregate of the run's window, fetched whole."""
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].browse(company_id)
        date_from, date_to = env["kam.classification"]._window(company, run_date)
        query = env["kam.account.fact"]._figures_sql(company, date_from, date_to)
        t0 = time.perf_counter()
        cr.execute(query)
        rows = cr.fetchall()
        return time.perf_counter() - t0, len(rows)


def warm_up(registry, company_id, run_date):
    """Read the invoices once on the server (no rows to Python) so that every run finds a warm cache."""
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].browse(company_id)
        query = env["kam.classification"]._ranking_sql(company, run_date)
        cr.execute(odoo.tools.SQL("SELECT count(*) FROM (%s) s", query))
        return cr.fetchone()[0]


def measure_run(registry, recorder, company_id, run_date, memory=False, profiler=None, context=None):
    """One ``_reclassify_company`` + commit in a fresh cursor; returns a dict of figures."""
    recorder.queries, recorder.phases, recorder.capture = [], [], {}
    rss0 = maxrss_mb()
    if memory:
        tracemalloc.start()
    with registry.cursor() as cr, recorder.active():
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, dict(context or {}))
        company = env["res.company"].browse(company_id)
        Classification = env["kam.classification"]
        before = table_counts(cr, company_id)
        recorder.queries = []
        recorder.enabled = True
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        run = Classification._reclassify_company(company, run_date)
        t_engine = time.perf_counter() - t0
        n_engine = len(recorder.queries)
        cr.commit()
        elapsed = time.perf_counter() - t0
        if profiler:
            profiler.disable()
        recorder.enabled = False
        queries = list(recorder.queries)
        changed = run.changed_count
        after = table_counts(cr, company_id)
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {
        "seconds": elapsed,
        "engine_seconds": t_engine,
        "commit_seconds": elapsed - t_engine,
        "queries": len(queries),
        "queries_engine": n_engine,
        "sql_seconds": sum(q[1] for q in queries),
        "tier_changes": changed,
        "before": before,
        "after": after,
        "rss_delta_mb": maxrss_mb() - rss0,
        "python_peak_mb": peak,
        "phases": [list(p) for p in recorder.phases],
        "top_queries": sorted(queries, key=lambda q: -q[1]),
        "capture": dict(recorder.capture),
    }


def explain(registry, company_id, run_date, candidates_sql):
    out = []
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].browse(company_id)
        ranking = env["kam.classification"]._ranking_sql(company, run_date)
        cr.execute(odoo.tools.SQL("EXPLAIN (ANALYZE, BUFFERS) %s", ranking))
        out.append(("ranking (F)", "\n".join(r[0] for r in cr.fetchall())))
        if candidates_sql:
            cr.execute("EXPLAIN (ANALYZE, BUFFERS) " + candidates_sql)
            out.append(("candidates (steady state)", "\n".join(r[0] for r in cr.fetchall())))
        cr.rollback()
    return out


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------
def machine_info(dbname):
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    with contextlib.closing(admin_connection(dbname)) as cnx, cnx.cursor() as cr:
        cr.execute("SHOW server_version")
        pg = cr.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "max_parallel_workers_per_gather", "jit"):
            cr.execute(f"SHOW {name}")
            settings[name] = cr.fetchone()[0]
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "load_average": load,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "postgresql": pg,
        "pg_settings": settings,
        "python": platform.python_version(),
        "odoo": odoo.release.version,
        "os": platform.platform(),
    }


def fmt_s(seconds):
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def print_phases(title, result, top):
    print(
        f"\n{title}: {fmt_s(result['seconds'])} "
        f"({result['queries']} statements, {fmt_s(result['sql_seconds'])} in SQL, "
        f"{fmt_s(result['seconds'] - result['sql_seconds'])} in Python; commit {fmt_s(result['commit_seconds'])})"
    )
    print(f"  {'phase':<56} {'wall':>9} {'SQL':>9} {'Python':>9} {'stmts':>6}  note")
    for depth, name, wall, sql, n, note in result["phases"]:
        label = "  " * depth + name
        print(f"  {label:<56} {wall:9.3f} {sql:9.3f} {wall - sql:9.3f} {n:6d}  {note}")
    print("  slowest statements:")
    for head, delay, rowcount in result["top_queries"][:top]:
        print(f"  {delay:9.3f} s  rows={rowcount:<7} {head}")


def dataset_figures(registry, company_id, run_date):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].browse(company_id)
        date_from, date_to = env["kam.classification"]._window(company, run_date)
        cr.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE invoice_date BETWEEN %s AND %s)
              FROM account_move
             WHERE company_id = %s AND state = 'posted' AND move_type IN ('out_invoice', 'out_refund')
            """,
            [date_from, date_to, company_id],
        )
        n_invoices, n_window = cr.fetchone()
        cr.execute("SELECT count(*) FROM res_partner WHERE is_company AND ref LIKE 'KB%%'")
        n_customers = cr.fetchone()[0]
        cr.execute(
            """
            SELECT (SELECT count(*) FROM kam_visit WHERE company_id = %(c)s),
                   (SELECT count(*) FROM kam_visit WHERE company_id = %(c)s AND date BETWEEN %(f)s AND %(t)s),
                   (SELECT count(*) FROM kam_cost_entry WHERE company_id = %(c)s),
                   (SELECT count(*) FROM kam_cost_entry WHERE company_id = %(c)s AND date BETWEEN %(f)s AND %(t)s)
            """,
            {"c": company_id, "f": date_from, "t": date_to},
        )
        visits, visits_window, entries, entries_window = cr.fetchone()
    return {
        "visits": visits,
        "visits_in_window": visits_window,
        "cost_entries": entries,
        "cost_entries_in_window": entries_window,
        "date_from": date_from,
        "date_to": date_to,
        "customers": n_customers,
        "invoices": n_invoices,
        "invoices_in_window": n_window,
    }


def is_idempotent(runs):
    return all(
        r["tier_changes"] == 0
        and r["after"]["history"] == r["before"]["history"]
        and r["after"]["partner_messages"] == r["before"]["partner_messages"]
        and r["after"]["last_writer"] == r["before"]["last_writer"]
        for r in runs
    )


def measure_all(args, registry, recorder, company_id, run_date):
    """All the measurements, in the order that keeps each one fair; returns a dict."""
    res = {}
    log("resetting the classification tables")
    reset_classification(registry, company_id, args.db)
    ranked = warm_up(registry, company_id, run_date)
    log(f"warm-up: {ranked:,} customers with positive revenue")

    # The tiers alone (what the preview computes), then the whole run, each from empty tables,
    # attempt after attempt so that a change of load touches both alike.
    engine_alone = {"kam_without_cost_figures": True}
    firsts, firsts_alone = [], []
    for _attempt in range(max(args.first_repeat, 1)):
        for label, context, runs in (
            (
                "T first, classification alone: reclassification on an empty table, cost figures left out",
                engine_alone,
                firsts_alone,
            ),
            ("T first: reclassification on an empty table", None, firsts),
        ):
            reset_classification(registry, company_id, args.db)
            warm_up(registry, company_id, run_date)
            log(label)
            runs.append(measure_run(registry, recorder, company_id, run_date, context=context))
            last = runs[-1]
            log(f"  {fmt_s(last['seconds'])}, {last['queries']} statements, {last['tier_changes']:,} tier changes")
    res["firsts"] = firsts
    res["firsts_alone"] = firsts_alone
    res["first_alone"] = min(firsts_alone, key=lambda r: r["seconds"])
    res["first"] = min(firsts, key=lambda r: r["seconds"])

    # F, F figures, T steady and T steady without the cost figures, round after round, so that
    # a change of load on a shared machine touches all of them alike; best of each.
    floors, figure_floors, steadies, alone = [], [], [], []
    for _round in range(args.repeat):
        floors.append(measure_floor(registry, company_id, run_date))
        figure_floors.append(measure_floor_figures(registry, company_id, run_date))
        steadies.append(measure_run(registry, recorder, company_id, run_date))
        alone.append(measure_run(registry, recorder, company_id, run_date, context=engine_alone))
    res["floors"] = floors
    res["floor"], res["floor_rows"], res["floor_queries"] = min(floors)
    res["figure_floors"] = figure_floors
    res["figure_floor"], res["figure_rows"] = min(figure_floors)
    log(
        f"F: best of {args.repeat}: {fmt_s(res['floor'])} ({res['floor_rows']:,} rows); "
        f"all: {', '.join(fmt_s(f[0]) for f in floors)}"
    )
    log(
        f"F figures: best of {args.repeat}: {fmt_s(res['figure_floor'])} ({res['figure_rows']:,} rows); "
        f"all: {', '.join(fmt_s(f[0]) for f in figure_floors)}"
    )
    res["steadies"] = steadies
    res["steady"] = min(steadies, key=lambda r: r["seconds"])
    log(
        f"T steady: best of {args.repeat}: {fmt_s(res['steady']['seconds'])}; "
        f"all: {', '.join(fmt_s(r['seconds']) for r in steadies)}"
    )
    res["alone"] = alone
    res["steady_alone"] = min(alone, key=lambda r: r["seconds"])
    log(
        f"T steady, classification alone: best of {args.repeat}: {fmt_s(res['steady_alone']['seconds'])}; "
        f"all: {', '.join(fmt_s(r['seconds']) for r in alone)}"
    )
    res["idempotent"] = is_idempotent(steadies + alone)

    res["explained"] = []
    if args.explain:
        res["explained"] = explain(registry, company_id, run_date, res["steady"]["capture"].get("candidates"))

    res["mem_first"] = res["mem_steady"] = None
    if not args.no_memory:
        log("memory: first and steady runs again under tracemalloc (slower; not timed)")
        reset_classification(registry, company_id, args.db)
        res["mem_first"] = measure_run(registry, recorder, company_id, run_date, memory=True)
        res["mem_steady"] = measure_run(registry, recorder, company_id, run_date, memory=True)

    res["profile"] = None
    if args.profile:
        log("profile: cProfile of another first run")
        reset_classification(registry, company_id, args.db)
        prof = cProfile.Profile()
        measure_run(registry, recorder, company_id, run_date, profiler=prof)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        res["profile"] = buf.getvalue()

    res["ratio_first"] = res["first"]["seconds"] / res["floor"]
    res["ratio_steady"] = res["steady"]["seconds"] / res["floor"]
    res["ratio_steady_alone"] = res["steady_alone"]["seconds"] / res["floor"]
    res["full_floor"] = res["floor"] + res["figure_floor"]
    res["ratio_steady_full"] = res["steady"]["seconds"] / res["full_floor"]
    res["ratio_first_full"] = res["first"]["seconds"] / res["full_floor"]
    return res


def memory_note(mem_result, run):
    parts = []
    if mem_result and mem_result["python_peak_mb"] is not None:
        parts.append(f"Python peak {mem_result['python_peak_mb']:.1f} MiB")
    parts.append(f"maxrss +{run['rss_delta_mb']:.0f} MiB")
    return ", ".join(parts)


def print_report(args, ctx, data, res):
    machine, marker = ctx["machine"], ctx["marker"]
    first, steady = res["first"], res["steady"]
    print()
    print("=" * 100)
    print(f"kam_management engine benchmark, {ctx['date']}")
    print(f"command : {ctx['command']}")
    print(f"source  : {ctx['source']} (addon digest {marker.get('addon_digest', '?')})")
    print(
        f"machine : {machine['nproc']} CPU ({machine['cpu']}), {machine['memory']} RAM, "
        f"PostgreSQL {machine['postgresql']}, Python {machine['python']}, Odoo {machine['odoo']}"
    )
    print(f"load    : {ctx['load_start']} at the start, {machine['load_average']} at the end (1, 5, 15 min)")
    print("postgres: " + ", ".join(f"{k}={v}" for k, v in machine["pg_settings"].items()))
    print(
        f"data    : {data['customers']:,} customers, {data['invoices']:,} posted invoices/refunds "
        f"({data['invoices_in_window']:,} in the {data['date_from']} .. {data['date_to']} window), "
        f"{res['floor_rows']:,} ranked customers; {data['visits']:,} visits and {data['cost_entries']:,} other "
        f"costs ({data['visits_in_window']:,} and {data['cost_entries_in_window']:,} in the window), "
        f"{res['figure_rows']:,} customers with figures"
    )
    tiers = first["after"]
    print(f"tiers   : A {tiers['a']:,}, B {tiers['b']:,}, C {tiers['c']:,}")
    if "build_seconds" in marker:
        print(f"build   : {marker['build_seconds']}")
    print()
    print("| measure | time | / F | / (F + F figures) | goal | statements | memory |")
    print("|---|---:|---:|---:|---|---:|---|")
    full = res["full_floor"]

    def row(label, seconds, goal=None, statements="", memory="", goal_on_full=False):
        ratio, ratio_full = seconds / res["floor"], seconds / full
        verdict = ""
        if goal:
            checked, against = (ratio_full, "/ (F + F figures)") if goal_on_full else (ratio, "/ F")
            verdict = f"{against} <= {goal:g}: {'met' if checked <= goal else 'NOT MET'}"
        print(f"| {label} | {fmt_s(seconds)} | {ratio:.2f} | {ratio_full:.2f} | {verdict} | {statements} | {memory} |")

    row(f"F: `_ranking_sql`, all rows fetched (best of {args.repeat})", res["floor"], statements=res["floor_queries"])
    row(f"F figures: `_figures_sql`, all rows fetched (best of {args.repeat})", res["figure_floor"], statements=1)
    row("F + F figures: the floor of a run that also computes the cost figures", full)
    label = "T first: empty table, commit included"
    if len(res["firsts"]) > 1:
        label += f" (best of {len(res['firsts'])})"
    # The T is the 80/20 classification (the "classification alone" rows, against F);
    # the whole run also computes the cost figures, so it is held to its own floor.
    row(label, first["seconds"], GOAL_FIRST, first["queries"], memory_note(res["mem_first"], first), goal_on_full=True)
    label = "T first, classification alone: cost figures left out"
    if len(res["firsts_alone"]) > 1:
        label += f" (best of {len(res['firsts_alone'])})"
    row(
        label,
        res["first_alone"]["seconds"],
        GOAL_FIRST,
        res["first_alone"]["queries"],
    )
    row(
        f"T steady: same data, same date (best of {args.repeat})",
        steady["seconds"],
        GOAL_STEADY,
        steady["queries"],
        memory_note(res["mem_steady"], steady),
        goal_on_full=True,
    )
    alone = res["steady_alone"]
    row(
        f"T steady, classification alone: cost figures left out (best of {args.repeat})",
        alone["seconds"],
        GOAL_STEADY,
        alone["queries"],
    )
    print()
    print(
        f"steady state changes nothing: {'yes' if res['idempotent'] else 'NO'} "
        f"(tier changes {[r['tier_changes'] for r in res['steadies']]}, history rows "
        f"{steady['before']['history']:,} -> {steady['after']['history']:,})"
    )
    print_phases("T first, where the time goes", first, args.top_queries)
    print_phases("T first, classification alone, where the time goes", res["first_alone"], args.top_queries)
    print_phases("T steady (best run), where the time goes", steady, args.top_queries)
    print_phases("T steady, classification alone (best run), where the time goes", alone, args.top_queries)
    for title, plan in res["explained"]:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) {title}:\n{plan}")
    if res["profile"]:
        print("\ncProfile of a first run (cumulative):\n" + res["profile"])


def write_json(path, args, engine, modules):
    """The figures of every benchmark that ran: ``engine`` is ``(ctx, data, res)`` or None."""

    def slim(r):
        if r is None:
            return None
        r = dict(r)
        r["top_queries"] = r["top_queries"][: args.top_queries]
        r["before"] = {k: str(v) for k, v in r["before"].items()}
        r["after"] = {k: str(v) for k, v in r["after"].items()}
        r.pop("capture", None)
        return r

    out = {"load_end": " ".join(f"{x:.2f}" for x in os.getloadavg()), "modules": modules}
    if engine:
        ctx, data, res = engine
        out.update({k: ctx[k] for k in ("command", "source", "date", "machine", "load_start")})
        out.update(dataset=ctx["marker"], **{k: str(v) if k.startswith("date_") else v for k, v in data.items()})
        out.update(
            ranked_customers=res["floor_rows"],
            floor_seconds=[f[0] for f in res["floors"]],
            figure_floor_seconds=[f[0] for f in res["figure_floors"]],
            customers_with_figures=res["figure_rows"],
            first=[slim(r) for r in res["firsts"]],
            first_classification_alone=[slim(r) for r in res["firsts_alone"]],
            steady=[slim(r) for r in res["steadies"]],
            steady_classification_alone=[slim(r) for r in res["alone"]],
            memory_first=slim(res["mem_first"]),
            memory_steady=slim(res["mem_steady"]),
            ratio_first=res["ratio_first"],
            ratio_steady=res["ratio_steady"],
            ratio_steady_classification_alone=res["ratio_steady_alone"],
            ratio_steady_to_full_floor=res["ratio_steady_full"],
            ratio_first_to_full_floor=res["ratio_first_full"],
            idempotent=res["idempotent"],
        )
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=str)


def bench_env(registry, body):
    """Call ``body(env, company, run_date, marker)`` in a fresh cursor (committed by the body)."""
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        marker = json.loads(env["ir.config_parameter"].get_param(MARKER_KEY) or "{}")
        company = env["res.company"].browse(marker["company_id"])
        return body(env, company, datetime.date.fromisoformat(marker["run_date"]), marker)


def standalone_parser(description):
    """The command line of a benchmark module run alone: ``--db`` and ``--json``, then its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", default=_env("BENCH_DB", "kam_bench"))
    parser.add_argument("--json", default="", help="write the figures to this JSON file")
    return parser


def run_standalone(args, script, body):
    """Run a benchmark module alone: ``body(env, company, run_date)`` on the database that
    run_bench.py built, then write its result to ``--json`` if asked."""
    odoo.tools.config.parse_config(
        ["-d", args.db, f"--addons-path={odoo_addons_path()}", "--log-level=warn", "--without-demo=all"]
    )
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        marker = json.loads(env["ir.config_parameter"].get_param(MARKER_KEY) or "{}")
        if not marker.get("complete"):
            sys.exit(f"{script}: {args.db} does not hold the data set of run_bench.py; run `make bench` first")
        company = env["res.company"].browse(marker["company_id"])
        result = body(env, company, datetime.date.fromisoformat(marker["run_date"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
    return 0


def bench_customer_ids(env):
    env.cr.execute("SELECT id FROM res_partner WHERE is_company AND ref LIKE 'KB%%' ORDER BY id")
    return [row[0] for row in env.cr.fetchall()]


def ensure_effort(args, registry):
    """Visits and other costs are part of the data set: the engine computes the cost figures."""
    import bench_cost_to_serve

    def body(env, company, run_date, _marker):
        return bench_cost_to_serve.insert_effort(
            env, company, run_date, bench_customer_ids(env), args.visits, args.entries
        )

    return bench_env(registry, body)


def ensure_classified(registry):
    """The other benchmarks read the classification: run the engine once if it never ran."""

    def body(env, company, run_date, _marker):
        if env["kam.classification"].search_count([("company_id", "=", company.id), ("tier", "!=", False)]):
            return
        log("classifying the customers once (not measured): the other benchmarks read the tiers")
        env["kam.classification"]._reclassify_company(company, run_date)
        env.cr.commit()

    bench_env(registry, body)


def run_modules(args, registry):
    """The other benchmark modules, each through its ``run(...)``: a failure is printed and the
    next module still runs. Returns ``{name: figures or {"error": message}}``."""
    import traceback

    def cost(env, company, run_date, _marker):
        import bench_cost_to_serve

        return bench_cost_to_serve.run(
            env, company, run_date, bench_customer_ids(env), args.visits, args.entries, args.repeat, args.explain
        )

    def reports(env, company, _run_date, _marker):
        import bench_reports

        return bench_reports.run(env, company, accounts=args.portfolio_accounts)

    def kpi(env, company, run_date, _marker):
        import bench_kpi

        return bench_kpi.run(env, company, run_date, accounts=args.kpi_accounts, repeat=args.repeat)

    # Reports before KPI: the KPI benchmark makes its own key accounts (SQL), the reports
    # read those of the engine run.
    modules = [("cost", cost), ("reports", reports), ("kpi", kpi)]
    results = {}
    for name, body in modules:
        if name not in args.only:
            continue
        log(f"== benchmark: {name}")
        try:
            results[name] = bench_env(registry, body)
        except Exception as exc:  # noqa: BLE001 - a broken module must not stop the others
            traceback.print_exc()
            print(f"run_bench: the {name} benchmark FAILED: {exc!r}", file=sys.stderr, flush=True)
            results[name] = {"error": repr(exc)}
    return results


def main(argv=None):
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    ctx = {
        "command": " ".join(["python3 bench/run_bench.py", *(shlex.quote(a) for a in given)]),
        "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    odoo.tools.config.parse_config(
        ["-d", args.db, f"--addons-path={odoo_addons_path()}", "--log-level=warn", "--without-demo=all"]
    )
    registry, marker = prepare(args)
    company_id = marker["company_id"]
    run_date = datetime.date.fromisoformat(marker["run_date"])
    failures = []
    try:
        ensure_effort(args, registry)
    except Exception as exc:  # noqa: BLE001
        print(f"run_bench: could not add the visits and costs of the data set: {exc!r}", file=sys.stderr)
        failures.append("effort")
    out = {}
    if "engine" in args.only:
        recorder = Recorder()
        install_wrappers(registry, recorder)
        data = dataset_figures(registry, company_id, run_date)
        log(
            f"run date {run_date}, window {data['date_from']} .. {data['date_to']}: "
            f"{data['invoices_in_window']:,} of {data['invoices']:,} invoices"
        )
        res = measure_all(args, registry, recorder, company_id, run_date)
        ctx.update(
            marker=marker,
            machine=machine_info(args.db),
            source=source_version(),
            date=datetime.datetime.now().isoformat(timespec="seconds"),
        )
        print_report(args, ctx, data, res)
        if not res["idempotent"]:
            failures.append("engine (steady state wrote something)")
        out["engine"] = (ctx, data, res)
    else:
        ensure_classified(registry)
    modules = run_modules(args, registry)
    failures += [name for name, result in modules.items() if isinstance(result, dict) and "error" in result]
    print()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    for name in args.only:
        state = "FAILED" if any(f.startswith(name) for f in failures) else "ran (goals: see its table)"
        print(f"benchmark {name:8} {state}")
    if args.json:
        write_json(args.json, args, out.get("engine"), modules)
    if failures:
        print(f"run_bench: failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
