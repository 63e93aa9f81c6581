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
function: bench_cost_to_serve.py, bench_reports.py, bench_kpi.py, bench_service_level.py and bench_survey.py
(``--only`` picks some). A
module that fails is reported and the others still run; the exit code is then non-zero.
See bench/README.md and docs/benchmarks.md.

    python3 bench/run_bench.py [--db kam_bench] [--customers 100000] [--invoices 1000000] [--reuse]

Every option can also be given in the environment: BENCH_DB, BENCH_CUSTOMERS, BENCH_INVOICES,
BENCH_REUSE=1, BENCH_REPEAT, BENCH_EXPLAIN=1, BENCH_ONLY, ...  ODOO_ADDONS_PATH replaces the
addons path computed from the location of Odoo, and ODOO_RC (an Odoo configuration file) is
read by Odoo."""

import argparse
import datetime
import json
import os
import shlex
import sys

import bench_analysis
import bench_cost_to_serve
import bench_engine
import bench_kpi
import bench_reports
import bench_service_level
import bench_survey
from dataset import ensure_classified, ensure_effort, prepare
from harness import (
    _env,
    _env_flag,
    bench_customer_ids,
    bench_env,
    log,
    machine_info,
    odoo,
    odoo_addons_path,
    source_version,
)

MODULES = ("engine", "cost", "analysis", "reports", "kpi", "service", "survey")


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
        "--survey-answers",
        type=int,
        default=int(_env("SURVEY_ANSWERS", 200_000)),
        help="answered surveys of the survey bench",
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


def write_json(path, args, engine, modules):
    """The figures of every benchmark that ran: ``engine`` is ``(ctx, data, res)`` or None."""

    def slim(r):
        if r is None:
            return None
        r = dict(r)
        r["top_queries"] = r["top_queries"][: args.top_queries]
        r["before"] = {k: str(v) for k, v in r["before"].items()}
        r["after"] = {k: str(v) for k, v in r["after"].items()}
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


def run_modules(args, registry):
    """The other benchmark modules, each through its ``run(...)``: a failure is printed and the
    next module still runs. Returns ``{name: figures or {"error": message}}``."""
    import traceback

    def cost(env, company, run_date, _marker):

        return bench_cost_to_serve.run(
            env, company, run_date, bench_customer_ids(env), args.visits, args.entries, args.repeat, args.explain
        )

    def analysis(env, company, _run_date, _marker):

        return bench_analysis.run(env, company, repeat=args.repeat)

    def reports(env, company, _run_date, _marker):

        return bench_reports.run(env, company, accounts=args.portfolio_accounts)

    def kpi(env, company, run_date, _marker):

        return bench_kpi.run(env, company, run_date, accounts=args.kpi_accounts, repeat=args.repeat)

    def service(env, company, run_date, _marker):

        return bench_service_level.run(env, company, run_date, repeat=args.repeat)

    def survey(env, company, run_date, _marker):

        return bench_survey.run(
            env, company, run_date, accounts=args.kpi_accounts, answers=args.survey_answers, repeat=args.repeat
        )

    # Reports before KPI: the KPI benchmark makes its own key accounts (SQL), the reports
    # read those of the engine run. The service levels and the surveys last: they set their
    # own tiers (SQL).
    modules = [
        ("cost", cost),
        ("analysis", analysis),
        ("reports", reports),
        ("kpi", kpi),
        ("service", service),
        ("survey", survey),
    ]
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
        data, res = bench_engine.run(args, registry, company_id, run_date)
        ctx.update(
            marker=marker,
            machine=machine_info(args.db),
            source=source_version(),
            date=datetime.datetime.now().isoformat(timespec="seconds"),
        )
        bench_engine.print_report(args, ctx, data, res)
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
