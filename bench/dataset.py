"""The synthetic data set of the benchmarks: customers and posted invoices (built once per
database, with a marker in ``ir.config_parameter``), then visits and other costs to serve.
"""

import contextlib
import datetime
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time

from harness import (
    MARKER_KEY,
    MODULE,
    REPO_ROOT,
    bench_customer_ids,
    bench_env,
    db_exists,
    drop_db,
    log,
    odoo,
    odoo_addons_path,
    read_marker,
    vacuum_analyze,
)

EFFORT_MARKER_KEY = "kam_bench.cost_dataset"
EFFORT_SEED = 0.42


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
       v.prefix || lpad(v.g::text, greatest(7, length(v.g::text)), '0'), v.prefix, v.g, NULL, 'posted',
       v.move_type, 'no',
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


VISITS_SQL = """
INSERT INTO kam_visit (
    partner_id, commercial_partner_id, user_id, company_id, kind, state,
    start, stop, duration, date, travel_time, distance, expenses,
    hourly_rate, km_rate, cost, create_uid, create_date, write_uid, write_date)
SELECT c.partner_id, c.partner_id, %(user)s, %(company)s, v.kind, v.state,
       v.start, v.start + make_interval(mins => (v.duration * 60)::int), v.duration, v.start::date,
       v.travel_time, v.distance, v.expenses,
       %(hourly)s, %(per_km)s,
       round(((v.duration + v.travel_time) * %(hourly)s + v.distance * %(per_km)s + v.expenses)::numeric, 2),
       1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
  FROM (SELECT g,
               floor(random() * %(n)s)::int AS customer,
               (ARRAY['visit', 'visit', 'visit', 'remote', 'call', 'other'])[1 + floor(random() * 6)::int] AS kind,
               CASE WHEN random() < 0.9 THEN 'done' WHEN random() < 0.7 THEN 'planned' ELSE 'cancelled' END AS state,
               (%(run_date)s::date - floor(random() * %(days)s)::int)
                   + make_interval(hours => 7 + floor(random() * 10)::int) AS start,
               (0.25 * (1 + floor(random() * 12)))::float8 AS duration,
               (0.5 * floor(random() * 6))::float8 AS travel_time,
               round((random() * 300)::numeric, 1)::float8 AS distance,
               round((random() * 60)::numeric, 2) AS expenses
          FROM generate_series(1, %(m)s) g) v
  JOIN bench_cost_customer c ON c.i = v.customer
"""

ENTRIES_SQL = """
INSERT INTO kam_cost_entry (
    name, partner_id, commercial_partner_id, company_id, user_id, date, category_id,
    currency_id, amount, amount_company, create_uid, create_date, write_uid, write_date)
SELECT 'Bench cost ' || v.g, c.partner_id, c.partner_id, %(company)s, %(user)s, v.day, v.category,
       %(currency)s, v.amount, v.amount, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
  FROM (SELECT g,
               floor(random() * %(n)s)::int AS customer,
               %(run_date)s::date - floor(random() * %(days)s)::int AS day,
               (%(categories)s::int[])[1 + floor(random() * %(n_categories)s)::int] AS category,
               round((5 + random() * 995)::numeric, 2) AS amount
          FROM generate_series(1, %(m)s) g) v
  JOIN bench_cost_customer c ON c.i = v.customer
"""


def insert_effort(env, company, run_date, customer_ids, visits, entries, days=730, seed=EFFORT_SEED):
    """Bulk-insert the visits and cost entries of the bench (once), then ANALYZE.

    The random draws start from ``seed`` (PostgreSQL ``setseed``): the same data set each time.
    """
    cr = env.cr
    Param = env["ir.config_parameter"].sudo()
    wanted = {
        "visits": visits,
        "entries": entries,
        "company_id": company.id,
        "customers": len(customer_ids),
        "seed": seed,
    }
    marker = json.loads(Param.get_param(EFFORT_MARKER_KEY) or "{}")
    if {key: marker.get(key) for key in wanted} == wanted:
        log(f"reusing {visits:,} visits and {entries:,} cost entries inserted on {marker.get('built_on')}")
        return marker
    log("removing the effort of a previous build")
    cr.execute("DELETE FROM kam_visit WHERE company_id = %s", [company.id])
    cr.execute("DELETE FROM kam_cost_entry WHERE company_id = %s", [company.id])
    rate = env["kam.cost.rate"].sudo().search([("company_id", "=", company.id), ("user_id", "=", False)], limit=1)
    if not rate:
        rate = (
            env["kam.cost.rate"]
            .sudo()
            .create({"company_id": company.id, "date_from": "2000-01-01", "hourly_rate": 45.0, "km_rate": 0.3})
        )
    env.flush_all()
    cr.execute("DROP TABLE IF EXISTS bench_cost_customer")
    cr.execute(
        "CREATE TEMP TABLE bench_cost_customer AS "
        "SELECT (row_number() OVER () - 1)::int AS i, id AS partner_id FROM unnest(%s::int[]) id",
        [list(customer_ids)],
    )
    cr.execute("CREATE UNIQUE INDEX ON bench_cost_customer (i)")
    params = {
        "company": company.id,
        "user": env.ref("base.user_admin").id,
        "run_date": run_date,
        "days": days,
        "n": len(customer_ids),
    }
    cr.execute("SELECT setseed(%s)", [seed])
    t0 = time.perf_counter()
    cr.execute(VISITS_SQL, {**params, "m": visits, "hourly": rate.hourly_rate, "per_km": rate.km_rate})
    inserted_visits = cr.rowcount
    t_visits = time.perf_counter() - t0
    categories = env["kam.cost.category"].sudo().search([]).ids
    t0 = time.perf_counter()
    cr.execute(
        ENTRIES_SQL,
        {
            **params,
            "m": entries,
            "currency": company.currency_id.id,
            "categories": categories,
            "n_categories": len(categories),
        },
    )
    inserted_entries = cr.rowcount
    t_entries = time.perf_counter() - t0
    cr.execute("DROP TABLE bench_cost_customer")
    marker = {
        **wanted,
        "inserted_visits": inserted_visits,
        "inserted_entries": inserted_entries,
        "insert_seconds": {"visits": round(t_visits, 1), "entries": round(t_entries, 1)},
        "built_on": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    Param.set_param(EFFORT_MARKER_KEY, json.dumps(marker))
    cr.commit()
    for table in ("kam_visit", "kam_cost_entry"):
        cr.execute(f"ANALYZE {table}")
    cr.commit()
    log(f"inserted {inserted_visits:,} visits and {inserted_entries:,} cost entries in {t_visits + t_entries:.1f} s")
    return marker


def ensure_effort(args, registry):
    """Visits and other costs are part of the data set: the engine computes the cost figures."""

    def body(env, company, run_date, _marker):
        return insert_effort(env, company, run_date, bench_customer_ids(env), args.visits, args.entries)

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
