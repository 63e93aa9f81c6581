#!/usr/bin/env python3
"""Benchmark of the cost-to-serve analysis on the synthetic database of run_bench.py.

Measures, for the bench company, in the same run (best of ``--repeat`` each, alternated so
that a change of load touches them alike):

* **the analysis pivot by quadrant**: what the Cost-to-serve analysis menu opens, the
  ``read_group`` of ``kam.account.fact`` by quadrant with its four measures (revenue, gross
  margin, cost to serve, net contribution) over its default window: the classification
  window (before the stored facts: its "Last 12 months" filter);
* **Odoo's invoice analysis by month** on the same data: the ``read_group`` of the posted
  customer invoices and credit notes (``account.move``) by invoice month with their untaxed
  amount (the data set has no invoice lines, so ``account.invoice.report`` would be empty);
* **the refresh of the stored facts**: a rebuild, then a refresh with nothing to do;
* the pivot again **as a Key Account Manager** (access and record rules applied), which must
  find the same groups.

Goals: the pivot under 0.3 s and at least 3 times faster than the invoice analysis.

As a module: ``run(env, company, repeat)``; standalone, on a database built by run_bench.py:

    python3 bench/bench_analysis.py --db kam_bench [--repeat 3] [--json FILE]
"""

import sys
import time

from dateutil.relativedelta import relativedelta
from harness import fmt_s, logger, run_standalone, standalone_parser

PIVOT_GOAL_SECONDS = 0.3
PIVOT_GOAL_RATIO = 3.0
KAM_MANAGER = "kam_management.group_kam_manager"
MEASURES = ["revenue:sum", "gross_margin:sum", "cost_to_serve:sum", "net_contribution:sum"]

log = logger("analysis")


def pivot_domain(env, company):
    """The analysis's default domain: the classification window (or the older 12 months)."""
    Fact = env["kam.account.fact"]
    if "in_window" in Fact._fields:
        return [("company_id", "=", company.id), ("in_window", "=", True)]
    start = (env.cr.now().date() - relativedelta(months=11)).replace(day=1)
    return [("company_id", "=", company.id), ("date", ">=", start)]


def measure_pivot(env, company, user=None):
    """The pivot as the superuser, or as ``user`` (record rules and access checked)."""
    env.invalidate_all()
    Fact = env["kam.account.fact"].with_user(user) if user else env["kam.account.fact"]
    start = time.perf_counter()
    groups = Fact.read_group(pivot_domain(env, company), MEASURES, ["quadrant"], lazy=False)
    return time.perf_counter() - start, groups


def analysis_user(env, company):
    """A Key Account Manager of the bench company: the analysis as its users open it."""
    login = "bench_analysis_kam"
    user = env["res.users"].search([("login", "=", login)])
    if not user:
        user = (
            env["res.users"]
            .with_context(no_reset_password=True, tracking_disable=True)
            .create(
                {
                    "name": "Bench analysis KAM",
                    "login": login,
                    "company_id": company.id,
                    "company_ids": [(6, 0, company.ids)],
                    "groups_id": [(6, 0, [env.ref(xmlid).id for xmlid in ("base.group_user", KAM_MANAGER)])],
                }
            )
        )
        env.cr.commit()
    return user


def measure_invoice_analysis(env, company):
    env.invalidate_all()
    domain = [
        ("company_id", "=", company.id),
        ("state", "=", "posted"),
        ("move_type", "in", ("out_invoice", "out_refund")),
    ]
    start = time.perf_counter()
    groups = env["account.move"].read_group(domain, ["amount_untaxed_signed:sum"], ["invoice_date:month"], lazy=False)
    return time.perf_counter() - start, groups


def run(env, company, repeat=3):
    """Measure the pivot, the invoice analysis and the facts' refresh; print and return the figures."""
    Fact = env["kam.account.fact"]
    result = {}
    if hasattr(Fact, "_refresh"):
        log("refresh of the stored facts: rebuild, then steady")
        start = time.perf_counter()
        rebuilt = Fact._refresh(company, rebuild=True)
        env.cr.commit()
        result["rebuild_seconds"] = time.perf_counter() - start
        result["rebuild_rows"] = rebuilt
        start = time.perf_counter()
        steady = Fact._refresh(company)
        env.cr.commit()
        result["steady_seconds"] = time.perf_counter() - start
        result["steady_rows"] = steady
        env.cr.execute("SELECT count(*), count(*) FILTER (WHERE in_window) FROM kam_account_fact")
        result["fact_rows"], result["window_rows"] = env.cr.fetchone()
    pivots, invoices, as_user = [], [], []
    groups = None
    user = analysis_user(env, company)
    for _attempt in range(repeat):
        seconds, groups = measure_pivot(env, company)
        pivots.append(seconds)
        seconds, user_groups = measure_pivot(env, company, user)
        as_user.append(seconds)
        if user_groups != groups:
            raise AssertionError("the Key Account Manager sees other figures than the superuser")
        seconds, _groups = measure_invoice_analysis(env, company)
        invoices.append(seconds)
    result.update(
        pivot_seconds=min(pivots),
        pivot_all=pivots,
        invoice_analysis_seconds=min(invoices),
        invoice_analysis_all=invoices,
        ratio=min(invoices) / min(pivots),
        pivot_user_seconds=min(as_user),
        pivot_user_all=as_user,
        quadrants={g["quadrant"] or "none": round(float(g["net_contribution"] or 0), 2) for g in groups},
        goals={"pivot_seconds": PIVOT_GOAL_SECONDS, "ratio": PIVOT_GOAL_RATIO},
    )
    print()
    print("Cost-to-serve analysis")
    if "rebuild_seconds" in result:
        print(
            f"  facts: rebuild {fmt_s(result['rebuild_seconds'])} ({result['rebuild_rows']:,} rows written), "
            f"steady refresh {fmt_s(result['steady_seconds'])} ({result['steady_rows']} rows written); "
            f"{result['fact_rows']:,} rows, {result['window_rows']:,} in the window"
        )
    met = result["pivot_seconds"] < PIVOT_GOAL_SECONDS and result["ratio"] >= PIVOT_GOAL_RATIO
    print(
        f"  pivot by quadrant (best of {repeat}: {', '.join(f'{s:.3f}' for s in pivots)} s): "
        f"{fmt_s(result['pivot_seconds'])}; invoice analysis by month (best of {repeat}: "
        f"{', '.join(f'{s:.3f}' for s in invoices)} s): {fmt_s(result['invoice_analysis_seconds'])}; "
        f"{result['ratio']:.1f} x faster; goals < {PIVOT_GOAL_SECONDS} s and >= {PIVOT_GOAL_RATIO:.0f} x: "
        f"{'met' if met else 'NOT met'}"
    )
    print(
        f"  the same pivot as a Key Account Manager (record rules applied; best of {repeat}: "
        f"{', '.join(f'{s:.3f}' for s in as_user)} s): {fmt_s(result['pivot_user_seconds'])}"
    )
    return result


def main(argv=None):
    parser = standalone_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return run_standalone(args, "bench_analysis", lambda env, company, _run_date: run(env, company, args.repeat))


if __name__ == "__main__":
    sys.exit(main())
