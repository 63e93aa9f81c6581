#!/usr/bin/env python3
"""Benchmark of the key-account reports on the synthetic database of run_bench.py.

Measures, for the bench company (its customers classified by the engine run):

* the Pareto workbook of every classified customer (100,000 at full size): time, and the
  peak of Python memory (tracemalloc) and the growth of the process's resident memory;
  goals: under 20 s and under 500 MB;
* the KAM Portfolio PDF of 200 accounts (the 200 best-ranked customers, given to one bench
  KAM the first time), printed by wkhtmltopdf; goal: under 30 s.

As a module: ``run(env, company)`` returns the figures as a dict and prints them; run_bench.py
can call it after the engine measurements. Standalone, on a database built by run_bench.py:

    python3 bench/bench_reports.py --db kam_bench [--accounts 200] [--json FILE]
"""

import io
import sys
import time
import tracemalloc

from harness import logger, maxrss_mb, run_standalone, standalone_parser

PARETO_GOAL_SECONDS = 20.0
PARETO_GOAL_MB = 500.0
PORTFOLIO_GOAL_SECONDS = 30.0
PORTFOLIO_ACCOUNTS = 200
BENCH_KAM_LOGIN = "kam_bench_reports_kam"


log = logger("reports")


def bench_kam(env, company, accounts):
    """A KAM managing the ``accounts`` best-ranked customers of ``company`` (created once)."""
    Users = env["res.users"].with_context(no_reset_password=True, tracking_disable=True)
    user = Users.search([("login", "=", BENCH_KAM_LOGIN)])
    if not user:
        user = Users.create(
            {
                "name": "Bench KAM",
                "login": BENCH_KAM_LOGIN,
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, [env.ref("base.group_user").id, env.ref("kam_management.group_kam_manager").id])],
            }
        )
    # Plain SQL: the bench only needs the accounts assigned, not the chatter of 200 handovers.
    env.cr.execute(
        """
        UPDATE kam_classification k SET manager_id = %(user)s
          FROM (SELECT id FROM kam_classification
                 WHERE company_id = %(company)s AND tier IS NOT NULL
                 ORDER BY rank NULLS LAST, id LIMIT %(accounts)s) top
         WHERE k.id = top.id AND k.manager_id IS DISTINCT FROM %(user)s
        """,
        {"user": user.id, "company": company.id, "accounts": accounts},
    )
    env.cr.commit()
    env["kam.classification"].invalidate_model(["manager_id"])
    return user


def measure_pareto(env, company):
    """The Pareto workbook of every classified customer: time, then memory in a second run."""
    Pareto = env["kam.pareto.xlsx"]
    env.cr.execute("SELECT count(*) FROM kam_classification WHERE company_id = %s AND tier IS NOT NULL", [company.id])
    customers = env.cr.fetchone()[0]
    rss_before = maxrss_mb()
    start = time.perf_counter()
    _name, content = Pareto._generate(company)
    seconds = time.perf_counter() - start
    rss_growth = maxrss_mb() - rss_before
    env.invalidate_all()
    tracemalloc.start()
    Pareto._generate(company)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "customers": customers,
        "seconds": seconds,
        "bytes": len(content),
        "python_peak_mb": peak / 2**20,
        "maxrss_growth_mb": rss_growth,
    }


def measure_portfolio(env, company, user):
    """The KAM Portfolio PDF of ``user``'s accounts, printed by wkhtmltopdf, as a director."""
    Report = env["ir.actions.report"].with_context(force_report_rendering=True)
    data = {"company_ids": company.ids, "manager_ids": user.ids}
    env.cr.execute("SELECT count(*) FROM kam_classification WHERE manager_id = %s AND tier IS NOT NULL", [user.id])
    accounts = env.cr.fetchone()[0]
    start = time.perf_counter()
    values = env["report.kam_management.report_kam_portfolio"]._get_report_values([], data=data)
    data_seconds = time.perf_counter() - start
    lines = sum(len(group["lines"]) for group in values["docs"])
    env.invalidate_all()
    start = time.perf_counter()
    content, _kind = Report._render_qweb_pdf("kam_management.action_report_kam_portfolio", [], data=data)
    seconds = time.perf_counter() - start
    from odoo.tools.pdf import PdfFileReader

    return {
        "pages": PdfFileReader(io.BytesIO(content)).getNumPages(),
        "accounts": accounts,
        "lines": lines,
        "data_seconds": data_seconds,
        "seconds": seconds,
        "bytes": len(content),
    }


def run(env, company, accounts=PORTFOLIO_ACCOUNTS):
    """Measure the Pareto workbook and the Portfolio PDF of ``company``; print and return the figures."""
    user = bench_kam(env, company, accounts)
    log("Pareto workbook of every classified customer")
    pareto = measure_pareto(env, company)
    log(f"KAM Portfolio PDF of {accounts} accounts")
    portfolio = measure_portfolio(env, company, user)
    result = {
        "pareto": pareto,
        "portfolio": portfolio,
        "goals": {
            "pareto_seconds": PARETO_GOAL_SECONDS,
            "pareto_mb": PARETO_GOAL_MB,
            "portfolio_seconds": PORTFOLIO_GOAL_SECONDS,
        },
    }
    pareto_mb = max(pareto["python_peak_mb"], pareto["maxrss_growth_mb"])
    print()
    print("Key-account reports")
    print(
        f"  Pareto workbook : {pareto['customers']:,} customers in {pareto['seconds']:.1f} s "
        f"({pareto['bytes'] / 2**20:.1f} MiB file), Python peak {pareto['python_peak_mb']:.0f} MiB, "
        f"maxrss +{pareto['maxrss_growth_mb']:.0f} MiB; goals < {PARETO_GOAL_SECONDS:.0f} s and "
        f"< {PARETO_GOAL_MB:.0f} MB: "
        f"{'met' if pareto['seconds'] < PARETO_GOAL_SECONDS and pareto_mb < PARETO_GOAL_MB else 'NOT met'}"
    )
    print(
        f"  Portfolio PDF   : {portfolio['lines']} accounts, {portfolio['pages']} pages, "
        f"in {portfolio['seconds']:.1f} s "
        f"(data {portfolio['data_seconds']:.2f} s, {portfolio['bytes'] / 2**20:.1f} MiB file); "
        f"goal < {PORTFOLIO_GOAL_SECONDS:.0f} s: "
        f"{'met' if portfolio['seconds'] < PORTFOLIO_GOAL_SECONDS else 'NOT met'}"
    )
    return result


def main(argv=None):
    parser = standalone_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=PORTFOLIO_ACCOUNTS)
    args = parser.parse_args(argv)
    return run_standalone(args, "bench_reports", lambda env, company, _run_date: run(env, company, args.accounts))


if __name__ == "__main__":
    sys.exit(main())
