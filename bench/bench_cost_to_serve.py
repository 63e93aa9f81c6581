#!/usr/bin/env python3
"""Benchmark of the cost-to-serve refresh on the synthetic database of run_bench.py.

Adds 300,000 visits and 100,000 other costs to serve over the bench customers (plain SQL,
once; a marker in ir.config_parameter says they are there), then measures, for the company:

* F, the floor: the bare aggregate of ``kam.account.fact._figures_sql`` over the window,
  fetched whole (invoices, cost of goods, visits and cost entries, per customer);
* T first: ``kam.classification._refresh_cost_to_serve`` when no row holds figures yet
  (every row is written, customers with effort and no classification are added), commit
  included;
* T steady: the same refresh again on the same data (must write nothing), commit included.

Goal: T / F <= 2 (steady). See docs/benchmarks.md.

As a module: ``run(env, company, run_date, customer_ids)`` returns the figures as a dict and
prints them; run_bench.py calls it after the engine measurements. Standalone, on a database
built by run_bench.py:

    python3 bench/bench_cost_to_serve.py --db kam_bench [--visits 300000] [--entries 100000]
"""

import sys
import time

from dataset import insert_effort
from harness import bench_customer_ids, fmt_s, logger, run_standalone, standalone_parser

GOAL = 2.0


log = logger("cost-to-serve")


def reset_figures(env, company):
    """Empty the cost figures of ``company``: the next refresh is a first one."""
    from odoo.addons.kam_management.models.kam_classification import COST_FIGURES, COST_RANKING

    cr = env.cr
    columns = ", ".join(f"{name} = NULL" for name in (*COST_FIGURES, *COST_RANKING))
    # Rows the refresh added for customers with effort and no revenue: the engine never made them.
    cr.execute(
        "DELETE FROM kam_classification WHERE company_id = %s AND tier IS NULL AND rank IS NULL "
        "AND revenue = 0 AND manager_id IS NULL AND NOT locked",
        [company.id],
    )
    cr.execute(f"UPDATE kam_classification SET {columns} WHERE company_id = %s", [company.id])
    cr.commit()
    vacuum_analyze(cr.dbname, ["kam_classification"])
    env.invalidate_all()


def vacuum_analyze(dbname, tables):
    """VACUUM needs its own connection in autocommit: clear the dead rows of earlier runs."""
    import contextlib

    import psycopg2

    import odoo

    _db, info = odoo.sql_db.connection_info_for(dbname)
    with contextlib.closing(psycopg2.connect(**info)) as cnx:
        cnx.autocommit = True
        with cnx.cursor() as cr:
            for table in tables:
                cr.execute(f"VACUUM (ANALYZE) {table}")


def measure_floor(env, company, run_date):
    Fact = env["kam.account.fact"]
    date_from, date_to = env["kam.classification"]._window(company, run_date)
    query = Fact._figures_sql(company, date_from, date_to)
    t0 = time.perf_counter()
    env.cr.execute(query)
    rows = env.cr.fetchall()
    return time.perf_counter() - t0, len(rows)


def measure_refresh(env, company, run_date):
    cr = env.cr
    env.invalidate_all()
    n0 = cr.sql_log_count
    t0 = time.perf_counter()
    changed = env["kam.classification"]._refresh_cost_to_serve(company, run_date)
    t_refresh = time.perf_counter() - t0
    statements = cr.sql_log_count - n0
    cr.commit()
    return {
        "seconds": time.perf_counter() - t0,
        "refresh_seconds": t_refresh,
        "statements": statements,
        "rows_written": changed,
    }


def explain(env, company, run_date):
    from odoo.tools import SQL

    date_from, date_to = env["kam.classification"]._window(company, run_date)
    env.cr.execute(
        SQL("EXPLAIN (ANALYZE, BUFFERS) %s", env["kam.account.fact"]._figures_sql(company, date_from, date_to))
    )
    plan = "\n".join(row[0] for row in env.cr.fetchall())
    env.cr.rollback()
    return plan


def run(env, company, run_date, customer_ids, visits=300_000, entries=100_000, repeat=3, show_plan=False):
    """Insert the effort (once) and measure F, T first and T steady; print and return them."""
    insert_effort(env, company, run_date, customer_ids, visits, entries)
    env.cr.execute(
        "SELECT (SELECT count(*) FROM kam_visit WHERE company_id = %(c)s), "
        "(SELECT count(*) FROM kam_cost_entry WHERE company_id = %(c)s), "
        "(SELECT count(*) FROM kam_classification WHERE company_id = %(c)s)",
        {"c": company.id},
    )
    n_visits, n_entries, n_rows = env.cr.fetchone()
    # Warm the cache once so that every measurement reads the same pages from memory.
    measure_floor(env, company, run_date)
    reset_figures(env, company)
    measure_floor(env, company, run_date)
    log("T first: refresh with no figures stored")
    first = measure_refresh(env, company, run_date)
    floors = [measure_floor(env, company, run_date) for _i in range(repeat)]
    floor, floor_rows = min(floors)
    steadies = [measure_refresh(env, company, run_date) for _i in range(repeat)]
    steady = min(steadies, key=lambda r: r["seconds"])
    result = {
        "visits": n_visits,
        "cost_entries": n_entries,
        "classification_rows_before": n_rows,
        "customers_with_figures": floor_rows,
        "F": floor,
        "F_all": [f[0] for f in floors],
        "T_first": first["seconds"],
        "T_first_rows_written": first["rows_written"],
        "T_first_statements": first["statements"],
        "T_steady": steady["seconds"],
        "T_steady_all": [r["seconds"] for r in steadies],
        "T_steady_rows_written": max(r["rows_written"] for r in steadies),
        "T_steady_statements": steady["statements"],
        "ratio_first": first["seconds"] / floor,
        "ratio_steady": steady["seconds"] / floor,
        "goal": GOAL,
    }
    print()
    print("Cost to serve (kam.classification._refresh_cost_to_serve)")
    print(f"  data: {n_visits:,} visits, {n_entries:,} cost entries, {floor_rows:,} customers with figures")
    print(f"  F (bare _figures_sql, best of {repeat}): {fmt_s(floor)}")
    print(
        f"  T first : {fmt_s(first['seconds'])}  T/F = {result['ratio_first']:.2f}  "
        f"({first['statements']} statements, {first['rows_written']:,} rows written)"
    )
    print(
        f"  T steady: {fmt_s(steady['seconds'])}  T/F = {result['ratio_steady']:.2f}  "
        f"({steady['statements']} statements, {result['T_steady_rows_written']:,} rows written)  "
        f"goal <= {GOAL:.0f}: {'met' if result['ratio_steady'] <= GOAL else 'NOT met'}"
    )
    if show_plan:
        print("\nEXPLAIN (ANALYZE, BUFFERS) of F:\n" + explain(env, company, run_date))
    return result


def main(argv=None):
    parser = standalone_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=300_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args(argv)
    return run_standalone(
        args,
        "bench_cost_to_serve",
        lambda env, company, run_date: run(
            env, company, run_date, bench_customer_ids(env), args.visits, args.entries, args.repeat, args.explain
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
