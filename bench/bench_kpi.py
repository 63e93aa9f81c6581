#!/usr/bin/env python3
"""Benchmark of the daily KPI snapshot, the Key Accounts dashboard and the evolution pivot.

Runs on the benchmark database of ``run_bench.py`` (its customers and invoices):

* marks 20,000 of its customers as key accounts (SQL), spread over 20 Key Account Managers;
* F, the floor: the bare aggregate statement of the snapshot (``_kpi_select_sql``: every KPI of
  every account computed and fetched, nothing written), best of N;
* T: ``_take_snapshots`` with commit (its refresh of the stored figures included), for the
  first day ever (empty table), for the next day (20,000 rows inserted and yesterday's taken
  off the dashboard, alerts on but all already raised) and for a rerun of that day (nothing
  changes, nothing written); goal T / F <= 2;
* the server time to load the dashboard's first 80 cards (``web_search_read`` of the kanban's
  fields), as a director (every card) and as a KAM (record rules); goal < 150 ms;
* a pivot of one KPI by month and tier over a year of daily snapshots (7.3 million rows made
  with SQL), as the evolution screen opens it (month-end rows) and over every daily row;
  goal < 1.5 s.

Call ``run(env, company, run_date)`` from a benchmark runner, or run this file:

    python3 bench/bench_kpi.py [--db kam_bench] [--accounts 20000] [--repeat 3]

The database must hold the data set of ``run_bench.py``; ODOO_ADDONS_PATH and ODOO_RC are read
as there.
"""

import datetime
import sys
import time

from harness import best_of, logger, run_standalone, standalone_parser

ACCOUNTS = 20_000
KAMS = 20
CARDS = 80
GOAL_RATIO = 2.0
GOAL_CARDS_MS = 150.0
GOAL_PIVOT_S = 1.5
KAM_LOGIN = "bench_kpi_kam_%02d"


log = logger("kpi")
_best = best_of


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------
def _kam_users(env, company, count=KAMS):
    """The benchmark's Key Account Managers, created once."""
    Users = env["res.users"].with_context(no_reset_password=True, mail_create_nosubscribe=True)
    group = env.ref("kam_management.group_kam_manager")
    users = Users.search([("login", "like", "bench_kpi_kam_")], order="login")
    missing = [KAM_LOGIN % i for i in range(count) if KAM_LOGIN % i not in users.mapped("login")]
    if missing:
        users |= Users.create(
            [
                {
                    "name": f"Bench KAM {login[-2:]}",
                    "login": login,
                    "company_id": company.id,
                    "company_ids": [(6, 0, company.ids)],
                    "groups_id": [(6, 0, [env.ref("base.group_user").id, group.id])],
                }
                for login in missing
            ]
        )
    return users.sorted("login")


def mark_key_accounts(env, company, users, count=ACCOUNTS):
    """Make ``count`` bench customers (the largest by revenue) tier A, the others C; give each A a KAM."""
    cr = env.cr
    cr.execute(
        """
        INSERT INTO kam_classification (company_id, partner_id, tier, revenue, share, runs_below, locked,
                                        lock_differs, is_key_account)
        SELECT %(company)s, p.id, 'c', 0, 0, 0, false, false, false
          FROM res_partner p
         WHERE p.ref LIKE 'KB%%'
        ON CONFLICT (company_id, partner_id) DO NOTHING
        """,
        {"company": company.id},
    )
    cr.execute(
        """
        WITH ranked AS (
            SELECT k.id, row_number() OVER (ORDER BY COALESCE(r.revenue, 0) DESC, k.partner_id) AS n
              FROM kam_classification k
              LEFT JOIN (SELECT commercial_partner_id, SUM(amount_untaxed_signed) AS revenue
                           FROM account_move
                          WHERE company_id = %(company)s AND state = 'posted'
                            AND move_type IN ('out_invoice', 'out_refund')
                          GROUP BY 1) r ON r.commercial_partner_id = k.partner_id
             WHERE k.company_id = %(company)s
        )
        UPDATE kam_classification k
           SET tier = CASE WHEN ranked.n <= %(count)s THEN 'a' ELSE 'c' END,
               is_key_account = ranked.n <= %(count)s,
               manager_id = CASE WHEN ranked.n <= %(count)s
                                 THEN (%(users)s::int[])[1 + ranked.n %% %(kams)s] END
          FROM ranked
         WHERE k.id = ranked.id
        """,
        {"company": company.id, "count": count, "users": users.ids, "kams": len(users)},
    )
    env["kam.classification"].invalidate_model()
    cr.commit()


def reset_snapshots(env):
    env.cr.execute("TRUNCATE kam_kpi_snapshot")
    types = [
        env.ref("kam_management.mail_activity_type_kam_contact").id,
        env.ref("kam_management.mail_activity_type_kam_health").id,
    ]
    env.cr.execute("DELETE FROM mail_activity WHERE activity_type_id = ANY(%s)", [types])
    env.cr.commit()


def raise_alerts_beforehand(env, company):
    """Open a contact and a health activity on every key account (SQL): the timed day finds them
    and raises nothing new, so that it measures the detection, not 20,000 activity creations."""
    partner_model = env["ir.model"]._get_id("res.partner")
    for xmlid in ("kam_management.mail_activity_type_kam_contact", "kam_management.mail_activity_type_kam_health"):
        env.cr.execute(
            """
            INSERT INTO mail_activity (res_model_id, res_model, res_id, activity_type_id, user_id,
                                       date_deadline, summary, active, automated,
                                       create_uid, create_date, write_uid, write_date)
            SELECT %(model)s, 'res.partner', k.partner_id, %(type)s, k.manager_id, CURRENT_DATE,
                   'bench', true, true, 1, now(), 1, now()
              FROM kam_classification k
             WHERE k.company_id = %(company)s AND k.tier = 'a' AND k.manager_id IS NOT NULL
            """,
            {"model": partner_model, "type": env.ref(xmlid).id, "company": company.id},
        )
    # Created over time, they would be in the statistics (autovacuum); made at once, they must be.
    env.cr.execute("ANALYZE mail_activity")
    env.cr.commit()


def year_of_snapshots(env, company, run_date):
    """Copy the run date's rows to each day of the year before yesterday (SQL), health drifting a little.

    With the rows of yesterday and the run date, that makes 365 days; the last day of each
    complete month is its month-end row.
    """
    cr = env.cr
    t0 = time.perf_counter()
    cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'kam_kpi_snapshot'")
    columns = [c for (c,) in cr.fetchall() if c not in ("id", "date", "is_latest", "is_month_end", "health_score")]
    cr.execute(
        f"""
        INSERT INTO kam_kpi_snapshot (date, is_latest, is_month_end, health_score, {", ".join(columns)})
        SELECT d.day, false,
               d.day = (date_trunc('month', d.day) + interval '1 month - 1 day')::date,
               GREATEST(0, LEAST(100, s.health_score + ((s.partner_id + d.n) %% 21) - 10)),
               {", ".join("s." + c for c in columns)}
          FROM kam_kpi_snapshot s
         CROSS JOIN LATERAL (SELECT n, (%(run_date)s::date - n) AS day FROM generate_series(2, 364) n) d
         WHERE s.company_id = %(company)s AND s.date = %(run_date)s
        """,
        {"company": company.id, "run_date": run_date},
    )
    rows = cr.rowcount
    cr.commit()
    return rows, time.perf_counter() - t0


# ----------------------------------------------------------------------------------------
# Measures
# ----------------------------------------------------------------------------------------
def refresh_figures(env, company):
    """Bring the stored figures up to date, as the daily run does first (the floor reads them)."""
    t0 = time.perf_counter()
    env["kam.account.fact"]._refresh(company)
    env.cr.commit()
    return time.perf_counter() - t0


def measure_floor(env, company, run_date, repeat):
    Snapshot = env["kam.kpi.snapshot"]
    query = Snapshot._kpi_select_sql(company, run_date)

    from odoo.addons.kam_management.tools.large_statement import large_statement

    def once():
        # Fetched whole: a count(*) would let PostgreSQL drop the joins whose columns it does not
        # need, figures included. With the daily run's settings (JIT off, its work_mem).
        with large_statement(env.cr):
            t0 = time.perf_counter()
            env.cr.execute(query)
            env.cr.fetchall()
            elapsed = time.perf_counter() - t0
        return elapsed

    return _best(once, repeat)


def measure_take(env, company, day, alerts):
    Snapshot = env["kam.kpi.snapshot"]
    env.invalidate_all()
    n0 = env.cr.sql_log_count
    t0 = time.perf_counter()
    written = Snapshot._take_snapshots(company, day, alerts=alerts)
    env.cr.commit()
    return time.perf_counter() - t0, written, env.cr.sql_log_count - n0


def kanban_specification(env):
    """The fields the dashboard's kanban reads, taken from its view."""
    from lxml import etree

    Snapshot = env["kam.kpi.snapshot"]
    view = env.ref("kam_management.kam_kpi_snapshot_view_kanban")
    arch = etree.fromstring(Snapshot.get_views([(view.id, "kanban")])["views"]["kanban"]["arch"])
    spec = {}
    for node in arch.iter("field"):
        name = node.get("name")
        field = Snapshot._fields[name]
        spec[name] = {"fields": {"display_name": {}}} if field.type == "many2one" else {}
    return spec


def measure_cards(env, user, repeat):
    Snapshot = env["kam.kpi.snapshot"].with_user(user).with_context(allowed_company_ids=user.company_ids.ids)
    spec = kanban_specification(env)
    domain = [("is_latest", "=", True)]

    def once():
        Snapshot.env.invalidate_all()
        t0 = time.perf_counter()
        result = Snapshot.web_search_read(
            domain, spec, limit=CARDS, order="health_score, revenue desc", count_limit=10001
        )
        elapsed = time.perf_counter() - t0
        if len(result["records"]) != min(CARDS, result["length"]):
            raise AssertionError("the dashboard did not load its first cards")
        return elapsed, result["length"]

    once()  # warm the caches of the views and rules
    runs = [once() for _i in range(repeat)]
    return min(r[0] for r in runs), runs[0][1]


def measure_grouped(env, user, repeat):
    Snapshot = env["kam.kpi.snapshot"].with_user(user).with_context(allowed_company_ids=user.company_ids.ids)

    def once():
        Snapshot.env.invalidate_all()
        t0 = time.perf_counter()
        Snapshot.web_read_group([("is_latest", "=", True)], ["revenue:sum"], ["manager_id"], lazy=True)
        return time.perf_counter() - t0

    once()
    return _best(once, repeat)[0]


def measure_pivot(env, domain, repeat):
    Snapshot = env["kam.kpi.snapshot"]

    def once():
        env.invalidate_all()
        t0 = time.perf_counter()
        groups = Snapshot.read_group(domain, ["revenue:sum"], ["date:month", "tier"], lazy=False)
        return time.perf_counter() - t0, len(groups)

    once()
    runs = [once() for _i in range(repeat)]
    return min(r[0] for r in runs), runs[0][1]


# ----------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------
def run(env, company, run_date, accounts=ACCOUNTS, repeat=3):
    """Measure the KPI snapshot on ``env``'s database; print and return the figures.

    Commits: it writes its key accounts, KAMs, snapshots and a year of generated history.
    """
    env = env(su=True)
    company = company.with_env(env)
    log(f"KPI bench: {accounts:,} key accounts of {company.name} on {run_date}")
    users = _kam_users(env, company)
    env.cr.commit()
    mark_key_accounts(env, company, users, accounts)
    reset_snapshots(env)
    yesterday = run_date - datetime.timedelta(days=1)

    refresh = refresh_figures(env, company)
    log(f"stored figures brought up to date before the floor: {refresh:.3f} s")
    measure_floor(env, company, run_date, 1)  # warm the cache with the invoices
    floor, floors = measure_floor(env, company, run_date, repeat)
    log(f"F: best of {repeat}: {floor:.3f} s; all: {', '.join(f'{f:.3f}' for f in floors)}")

    first = measure_take(env, company, yesterday, alerts=False)
    log(f"T first day (empty table): {first[0]:.3f} s, {first[1]:,} rows, {first[2]} statements")
    raise_alerts_beforehand(env, company)
    daily = measure_take(env, company, run_date, alerts=True)
    log(f"T next day (alerts on, none new): {daily[0]:.3f} s, {daily[1]:,} rows, {daily[2]} statements")
    reruns = [measure_take(env, company, run_date, alerts=True) for _i in range(repeat)]
    rerun = min(reruns)
    log(f"T rerun of the day (best of {repeat}): {rerun[0]:.3f} s, {rerun[1]:,} rows written")

    director = env.ref("base.user_admin")
    kam = users[0]
    cards_director, total_director = measure_cards(env, director, repeat)
    cards_kam, total_kam = measure_cards(env, kam, repeat)
    grouped = measure_grouped(env, director, repeat)
    log(f"cards: director {cards_director * 1000:.1f} ms of {total_director:,}")
    log(f"cards: KAM {cards_kam * 1000:.1f} ms of {total_kam:,}")

    log("a year of daily snapshots (SQL)")
    generated, t_generate = year_of_snapshots(env, company, run_date)
    env.cr.execute("ANALYZE kam_kpi_snapshot")
    env.cr.commit()
    env.cr.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('kam_kpi_snapshot')) FROM kam_kpi_snapshot")
    total_rows, size = env.cr.fetchone()
    year = [("company_id", "=", company.id), ("date", ">", run_date - datetime.timedelta(days=365))]
    pivot_month_end, groups = measure_pivot(env, [("is_month_end", "=", True)] + year, repeat)
    pivot_daily, _groups = measure_pivot(env, year, repeat)
    cards_after, _total = measure_cards(env, director, repeat)
    tomorrow = run_date + datetime.timedelta(days=1)
    with_history = measure_take(env, company, tomorrow, alerts=True)
    log(f"T next day with a year of history: {with_history[0]:.3f} s, {with_history[1]:,} rows")

    figures = {
        "accounts": accounts,
        "floor_seconds": floor,
        "first_seconds": first[0],
        "daily_seconds": daily[0],
        "daily_statements": daily[2],
        "rerun_seconds": rerun[0],
        "history_seconds": with_history[0],
        "ratio_history": with_history[0] / floor,
        "rerun_written": rerun[1],
        "ratio_first": first[0] / floor,
        "ratio_daily": daily[0] / floor,
        "ratio_rerun": rerun[0] / floor,
        "cards_director_ms": cards_director * 1000,
        "cards_kam_ms": cards_kam * 1000,
        "cards_after_year_ms": cards_after * 1000,
        "grouped_by_kam_ms": grouped * 1000,
        "snapshot_rows": total_rows,
        "snapshot_table": size,
        "generated_rows": generated,
        "generate_seconds": t_generate,
        "pivot_month_end_seconds": pivot_month_end,
        "pivot_groups": groups,
        "pivot_daily_seconds": pivot_daily,
    }
    report(figures, repeat)
    return figures


def _met(ok):
    return "met" if ok else "NOT MET"


def report(f, repeat):
    print()
    print(f"KPI snapshot, {f['accounts']:,} key accounts")
    print()
    print("| measure | time | ratio to F | goal |")
    print("|---|---:|---:|---|")
    print(
        f"| F: `_kpi_select_sql`, every KPI computed and fetched, nothing written (best of {repeat}) "
        f"| {f['floor_seconds']:.3f} s | 1.00 | |"
    )
    print(
        f"| T first day: empty table, commit included | {f['first_seconds']:.3f} s | {f['ratio_first']:.2f} "
        f"| <= {GOAL_RATIO:g} {_met(f['ratio_first'] <= GOAL_RATIO)} |"
    )
    print(
        f"| T next day: rows added, yesterday's demoted, alerts checked ({f['daily_statements']} statements) "
        f"| {f['daily_seconds']:.3f} s | {f['ratio_daily']:.2f} "
        f"| <= {GOAL_RATIO:g} {_met(f['ratio_daily'] <= GOAL_RATIO)} |"
    )
    print(
        f"| T rerun of the day: nothing changed, {f['rerun_written']} rows written (best of {repeat}) "
        f"| {f['rerun_seconds']:.3f} s | {f['ratio_rerun']:.2f} "
        f"| <= {GOAL_RATIO:g} {_met(f['ratio_rerun'] <= GOAL_RATIO)} |"
    )
    print(
        f"| T next day, with a year of history in the table | {f['history_seconds']:.3f} s "
        f"| {f['ratio_history']:.2f} | <= {GOAL_RATIO:g} {_met(f['ratio_history'] <= GOAL_RATIO)} |"
    )
    print()
    print("| screen | server time | goal |")
    print("|---|---:|---|")
    print(
        f"| dashboard, first {CARDS} cards, director (all accounts) | {f['cards_director_ms']:.1f} ms "
        f"| < {GOAL_CARDS_MS:g} ms {_met(f['cards_director_ms'] < GOAL_CARDS_MS)} |"
    )
    print(
        f"| dashboard, first {CARDS} cards, KAM (record rules) | {f['cards_kam_ms']:.1f} ms "
        f"| < {GOAL_CARDS_MS:g} ms {_met(f['cards_kam_ms'] < GOAL_CARDS_MS)} |"
    )
    print(
        f"| dashboard, first {CARDS} cards, director, with a year of history | {f['cards_after_year_ms']:.1f} ms "
        f"| < {GOAL_CARDS_MS:g} ms {_met(f['cards_after_year_ms'] < GOAL_CARDS_MS)} |"
    )
    print(f"| dashboard grouped by KAM (columns) | {f['grouped_by_kam_ms']:.1f} ms | |")
    print(
        f"| pivot revenue by month and tier, a year, month-end rows ({f['pivot_groups']} cells) "
        f"| {f['pivot_month_end_seconds']:.3f} s "
        f"| < {GOAL_PIVOT_S:g} s {_met(f['pivot_month_end_seconds'] < GOAL_PIVOT_S)} |"
    )
    print(
        f"| pivot revenue by month and tier, a year, every daily row | {f['pivot_daily_seconds']:.3f} s "
        f"| < {GOAL_PIVOT_S:g} s {_met(f['pivot_daily_seconds'] < GOAL_PIVOT_S)} |"
    )
    print()
    print(
        f"history: {f['generated_rows']:,} rows generated in {f['generate_seconds']:.0f} s; "
        f"table {f['snapshot_rows']:,} rows, {f['snapshot_table']}"
    )


def main(argv=None):
    parser = standalone_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return run_standalone(
        args,
        "bench_kpi",
        lambda env, company, run_date: run(env, company, run_date, accounts=args.accounts, repeat=args.repeat),
    )


if __name__ == "__main__":
    sys.exit(main())
