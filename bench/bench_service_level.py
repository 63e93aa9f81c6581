#!/usr/bin/env python3
"""Benchmark of the service levels: applying the tiers' terms to the classified customers.

Runs on the benchmark database of ``run_bench.py`` (its customers):

* gives its customers tiers by SQL: 20,000 A, 30,000 B, the rest C, and one service level per
  tier with a pricelist and payment terms;
* T first: the first application to every classified customer (``kam.service.level._apply``
  over the whole classification, as the adoption wizard does), commit included;
* T moved: the application of a reclassification that moves 5 % of the customers (what the
  engine runs after its statement: ``_apply`` over the run's history lines), commit included;
* F, the floor of each: the bare UPDATE statements of the same two properties on the same rows
  (one per property, the values joined from the levels), commit included, best of N.

Goal T / F <= 2 for both; the number of statements does not depend on the customers.

    python3 bench/bench_service_level.py [--db kam_bench] [--repeat 3]
"""

import sys
import time

from harness import logger, run_standalone, standalone_parser

TIER_A = 20_000
TIER_B = 30_000
MOVED_SHARE = 0.05
GOAL_RATIO = 2.0

log = logger("service")


def setup(env, company):
    """Tiers for the bench customers and the company's three levels (created once)."""
    cr = env.cr
    cr.execute(
        """
        INSERT INTO kam_classification (company_id, partner_id, revenue, share, runs_below, locked,
                                        lock_differs, is_key_account)
        SELECT %(company)s, p.id, 0, 0, 0, false, false, false
          FROM res_partner p
         WHERE p.is_company AND p.ref LIKE 'KB%%'
        ON CONFLICT (company_id, partner_id) DO NOTHING
        """,
        {"company": company.id},
    )
    cr.execute(
        """
        UPDATE kam_classification k
           SET tier = CASE WHEN o.n <= %(a)s THEN 'a' WHEN o.n <= %(ab)s THEN 'b' ELSE 'c' END
          FROM (SELECT k2.id, ROW_NUMBER() OVER (ORDER BY k2.partner_id) AS n
                  FROM kam_classification k2 JOIN res_partner p ON p.id = k2.partner_id
                 WHERE k2.company_id = %(company)s AND p.ref LIKE 'KB%%') o
         WHERE k.id = o.id
        """,
        {"company": company.id, "a": TIER_A, "ab": TIER_A + TIER_B},
    )
    Level = env["kam.service.level"]
    Pricelist = env["product.pricelist"]
    Term = env["account.payment.term"]
    for tier, days in (("a", 60), ("b", 30), ("c", 0)):
        # A level may exist without terms (an upgrade creates them with the contact intervals).
        level = Level.search([("company_id", "=", company.id), ("tier", "=", tier)])
        if level.pricelist_id and level.payment_term_id:
            continue
        terms = {
            "pricelist_id": Pricelist.create({"name": f"Bench {tier}", "company_id": company.id}).id,
            "payment_term_id": Term.create(
                {
                    "name": f"Bench {days} days",
                    "company_id": company.id,
                    "line_ids": [(0, 0, {"value": "percent", "value_amount": 100, "nb_days": days})],
                }
            ).id,
        }
        if level:
            level.write(terms)
        else:
            Level.create({"company_id": company.id, "tier": tier, **terms})
    env.invalidate_all()
    cr.commit()
    cr.execute("ANALYZE kam_classification")
    cr.execute("ANALYZE res_partner")


def reset_terms(env, company):
    """Forget every application: no term on the bench customers, nothing remembered."""
    cr = env.cr
    key = str(company.id)
    cr.execute(
        """
        UPDATE res_partner
           SET specific_property_product_pricelist = specific_property_product_pricelist - %(key)s,
               property_payment_term_id = property_payment_term_id - %(key)s
         WHERE ref LIKE 'KB%%'
           AND (specific_property_product_pricelist ? %(key)s OR property_payment_term_id ? %(key)s)
        """,
        {"key": key},
    )
    cr.execute(
        "UPDATE kam_classification SET sl_pricelist_id = NULL, sl_payment_term_id = NULL "
        "WHERE company_id = %s AND (sl_pricelist_id IS NOT NULL OR sl_payment_term_id IS NOT NULL)",
        [company.id],
    )
    env.invalidate_all()
    cr.commit()


def floor(env, company, rows_sql):
    """The bare UPDATEs of the two properties on the rows of ``rows_sql`` (a SELECT of partner_id
    and tier), commit included. Returns seconds."""
    cr = env.cr
    key = str(company.id)
    start = time.perf_counter()
    for column, level_column in (
        ("specific_property_product_pricelist", "pricelist_id"),
        ("property_payment_term_id", "payment_term_id"),
    ):
        cr.execute(
            f"""
            UPDATE res_partner p
               SET {column} = COALESCE(p.{column}, '{{}}'::jsonb) || jsonb_build_object(%(key)s, l.{level_column})
              FROM ({rows_sql}) r
              JOIN kam_service_level l ON l.company_id = %(company)s AND l.tier = r.tier
             WHERE p.commercial_partner_id = r.partner_id
            """,  # noqa: S608 - constant names of this module
            {"key": key, "company": company.id},
        )
    cr.commit()
    return time.perf_counter() - start


def measure_apply(env, company, source):
    cr = env.cr
    before = cr.sql_log_count
    start = time.perf_counter()
    applied, kept = env["kam.service.level"]._apply(company, source)
    cr.commit()
    return time.perf_counter() - start, applied, kept, cr.sql_log_count - before


def move_customers(env, company, run_date):
    """A run that moves 5 % of the customers (A→B, B→A, C→B in turn), with its history lines.
    Returns the run."""
    cr = env.cr
    run = env["kam.classification.run"].create({"company_id": company.id, "date": run_date, "user_id": env.uid})
    cr.execute(
        """
        WITH moved AS (
            SELECT k.id, k.tier AS old_tier,
                   CASE k.tier WHEN 'a' THEN 'b' WHEN 'b' THEN 'a' ELSE 'b' END AS new_tier
              FROM kam_classification k
             WHERE k.company_id = %(company)s AND k.tier IS NOT NULL
               AND k.partner_id %% %(every)s = 0
        ),
        upd AS (UPDATE kam_classification k SET tier = m.new_tier FROM moved m WHERE k.id = m.id)
        INSERT INTO kam_tier_history (classification_id, run_id, date, cause, old_tier, new_tier)
        SELECT m.id, %(run)s, %(date)s, 'engine', m.old_tier, m.new_tier FROM moved m
        """,
        {"company": company.id, "every": round(1 / MOVED_SHARE), "run": run.id, "date": run_date},
    )
    env.invalidate_all()
    cr.commit()
    return run


def prepare_moved(env, company, run):
    """The moved customers as the previous application left them: their old tier's terms, applied."""
    cr = env.cr
    key = str(company.id)
    cr.execute(
        """
        WITH old AS (
            SELECT k.id, k.partner_id, l.pricelist_id, l.payment_term_id
              FROM kam_tier_history h
              JOIN kam_classification k ON k.id = h.classification_id
              JOIN kam_service_level l ON l.company_id = %(company)s AND l.tier = h.old_tier
             WHERE h.run_id = %(run)s
        ),
        upd AS (
            UPDATE kam_classification k SET sl_pricelist_id = o.pricelist_id, sl_payment_term_id = o.payment_term_id
              FROM old o WHERE k.id = o.id
        )
        UPDATE res_partner p
           SET specific_property_product_pricelist = COALESCE(p.specific_property_product_pricelist, '{}'::jsonb)
                   || jsonb_build_object(%(key)s, o.pricelist_id),
               property_payment_term_id =
                   COALESCE(p.property_payment_term_id, '{}'::jsonb) || jsonb_build_object(%(key)s, o.payment_term_id)
          FROM old o WHERE p.id = o.partner_id
        """,
        {"company": company.id, "run": run.id, "key": key},
    )
    env.invalidate_all()
    cr.commit()


def run(env, company, run_date, repeat=3):
    """Measure the service levels on ``env``'s database; print and return the figures. Commits."""
    from odoo.tools import SQL

    env = env(su=True)
    company = company.with_env(env)
    setup(env, company)
    all_rows = f"SELECT partner_id, tier FROM kam_classification WHERE company_id = {int(company.id)}"
    customers = env["kam.classification"].search_count([("company_id", "=", company.id)])
    log(f"service levels: {customers:,} classified customers of {company.name}")

    floors_first = []
    for _i in range(repeat):
        reset_terms(env, company)
        floors_first.append(floor(env, company, all_rows))
    firsts = []
    for _i in range(repeat):
        reset_terms(env, company)
        firsts.append(
            measure_apply(
                env,
                company,
                SQL(
                    "SELECT partner_id, tier, NULL::int AS history_id FROM kam_classification WHERE company_id = %s",
                    company.id,
                ),
            )
        )
    first = min(firsts)
    f_first = min(floors_first)
    log(f"F first: {f_first:.3f} s; T first: {first[0]:.3f} s ({first[1]:,} applied, {first[3]} statements)")

    run_record = move_customers(env, company, run_date)
    moved_rows = (
        "SELECT k.partner_id, h.new_tier AS tier FROM kam_tier_history h "
        f"JOIN kam_classification k ON k.id = h.classification_id WHERE h.run_id = {int(run_record.id)}"
    )
    source = SQL(
        "SELECT k.partner_id, h.new_tier AS tier, h.id AS history_id FROM kam_tier_history h "
        "JOIN kam_classification k ON k.id = h.classification_id WHERE h.run_id = %s",
        run_record.id,
    )
    floors_moved, moveds = [], []
    for _i in range(repeat):
        prepare_moved(env, company, run_record)
        floors_moved.append(floor(env, company, moved_rows))
        prepare_moved(env, company, run_record)
        moveds.append(measure_apply(env, company, source))
    moved = min(moveds)
    f_moved = min(floors_moved)
    log(f"F moved: {f_moved:.3f} s; T moved: {moved[0]:.3f} s ({moved[1]:,} applied, {moved[3]} statements)")
    result = {
        "customers": customers,
        "first": {
            "T": first[0],
            "F": f_first,
            "ratio": first[0] / f_first,
            "applied": first[1],
            "statements": first[3],
        },
        "moved": {
            "T": moved[0],
            "F": f_moved,
            "ratio": moved[0] / f_moved,
            "applied": moved[1],
            "statements": moved[3],
        },
    }
    print()
    print(f"Service levels ({customers:,} classified customers; goal T / F <= {GOAL_RATIO})")
    print(f"{'measure':<42}{'T (s)':>9}{'F (s)':>9}{'T/F':>7}{'rows':>9}{'stmts':>7}")
    for label, key in (("first application (every customer)", "first"), ("reclassification moving 5 %", "moved")):
        r = result[key]
        ok = "ok" if r["ratio"] <= GOAL_RATIO else "OVER"
        print(f"{label:<42}{r['T']:>9.3f}{r['F']:>9.3f}{r['ratio']:>7.2f}{r['applied']:>9,}{r['statements']:>7} {ok}")
    return result


def main(argv=None):
    parser = standalone_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    run_standalone(
        args, "bench_service_level.py", lambda env, company, run_date: run(env, company, run_date, args.repeat)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
