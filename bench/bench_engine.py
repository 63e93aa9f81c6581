"""Benchmark of the 80/20 engine (``kam.classification._reclassify_company``) on the data set.

Measures, inside an Odoo environment:

* F, the floor: the bare aggregate-and-rank statement (``_ranking_sql``), fetched whole;
* F figures: the bare cost-to-serve aggregate (``kam.account.fact._figures_sql``), fetched whole;
* T first: ``_reclassify_company`` on an empty classification table, commit included, with
  and without the cost figures;
* T steady: the same run again on the same data and date (must change nothing), and the same
  run with the cost figures left out (``kam_without_cost_figures``: the classification alone).
* the run as users start it (``_run_company``: the stored figures brought to the window, then
  ranked), steady, against the same run computing its figures from the documents and
  refreshing the stored figures after it (what ``_run_company`` did before it read them).

Goals: T first <= 4 x F, T steady <= 2 x F for the classification alone; the whole run, which
also computes the cost figures, is held to the same goals against its own floor, F + F figures.
Each first run of the classification alone is also divided by an F measured just before it
(median of the ratios), so that a drift of the machine's speed between measures cancels out.
The engine's statement is reached through its named entry point (``_stage_sql``), never by
matching SQL text.
"""

import contextlib
import cProfile
import functools
import io
import pstats
import statistics
import threading
import time
import tracemalloc

from harness import fmt_s, log, maxrss_mb, odoo, vacuum_analyze

GOAL_FIRST = 4.0


GOAL_STEADY = 2.0


# ----------------------------------------------------------------------------------------
# Instrumentation: statements (through Odoo's query hooks) and phases (method wrappers)
# ----------------------------------------------------------------------------------------
class Recorder:
    """Counts the statements of the current thread and times the engine's phases."""

    def __init__(self):
        self.queries = []  # (first line, seconds, rowcount)
        self.phases = []  # (depth, name, wall, sql seconds, statements, note)
        self.depth = 0

    def hook(self, cr, query, params, start, delay):
        text = query.decode() if isinstance(query, bytes) else str(query)
        head = " ".join(text.split())[:110]
        self.queries.append((head, delay, cr._obj.rowcount))

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


def run_from_documents(Classification, company, run_date):
    """A run computing its figures from the documents, then the stored figures refreshed."""
    run = Classification._reclassify_company(company, run_date)
    Classification.env["kam.account.fact"]._refresh(company, window=Classification._window(company, run_date))
    return run


def run_as_users(Classification, company, run_date):
    """``_run_company``: the stored figures refreshed to the window, then ranked."""
    return Classification._run_company(company, run_date)


def measure_run(registry, recorder, company_id, run_date, memory=False, profiler=None, context=None, entry=None):
    """One ``_reclassify_company`` (or ``entry``) + commit in a fresh cursor; returns a dict of figures."""
    recorder.queries, recorder.phases = [], []
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
        if entry:
            run = entry(Classification, company, run_date)
        else:
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
    }


def explain(registry, company_id, run_date):
    """EXPLAIN (ANALYZE, BUFFERS) of F and of the engine's stage, built by its named entry
    point ``kam.classification._stage_sql`` (read-only: the stage is only counted)."""
    out = []
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].browse(company_id)
        Classification = env["kam.classification"]
        ranking = Classification._ranking_sql(company, run_date)
        cr.execute(odoo.tools.SQL("EXPLAIN (ANALYZE, BUFFERS) %s", ranking))
        out.append(("ranking (F)", "\n".join(r[0] for r in cr.fetchall())))
        stage = Classification._stage_sql(company, run_date)
        cr.execute(odoo.tools.SQL("EXPLAIN (ANALYZE, BUFFERS) %s SELECT count(*) FROM stage", stage))
        out.append(("stage (steady state)", "\n".join(r[0] for r in cr.fetchall())))
        cr.rollback()
    return out


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
            floor = measure_floor(registry, company_id, run_date)[0]
            runs.append(measure_run(registry, recorder, company_id, run_date, context=context))
            last = runs[-1]
            last["paired_floor"] = floor
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

    # A first run as users start it, the stored figures being there (the daily KPI job keeps
    # them): the stored rows refreshed, then ranked; the whole run and the classification alone.
    for label, context, key in (
        ("T first as users run it, classification alone", engine_alone, "user_first_alone"),
        ("T first as users run it", None, "user_first"),
    ):
        runs = []
        for _attempt in range(max(args.first_repeat, 1)):
            reset_classification(registry, company_id, args.db)
            warm_up(registry, company_id, run_date)
            floor = measure_floor(registry, company_id, run_date)[0]
            runs.append(measure_run(registry, recorder, company_id, run_date, context=context, entry=run_as_users))
            runs[-1]["paired_floor"] = floor
        res[f"{key}s"] = runs
        res[key] = min(runs, key=lambda r: r["seconds"])
        log(f"{label}: {fmt_s(res[key]['seconds'])}; all: {', '.join(fmt_s(r['seconds']) for r in runs)}")

    # The run as users start it, steady, both ways, round after round.
    users = {"stored": [], "documents": []}
    for _round in range(args.repeat):
        users["documents"].append(measure_run(registry, recorder, company_id, run_date, entry=run_from_documents))
        users["stored"].append(measure_run(registry, recorder, company_id, run_date, entry=run_as_users))
    for way, runs in users.items():
        res[f"user_{way}"] = min(runs, key=lambda r: r["seconds"])
        log(
            f"T steady as users run it, figures from {way}: best of {args.repeat}: "
            f"{fmt_s(res[f'user_{way}']['seconds'])}; all: {', '.join(fmt_s(r['seconds']) for r in runs)}"
        )
    res["idempotent"] = res["idempotent"] and is_idempotent(users["stored"] + users["documents"])

    res["explained"] = []
    if args.explain:
        res["explained"] = explain(registry, company_id, run_date)

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


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------
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
    row(
        "T first as users run it (`_run_company`, stored figures there): refreshed, then ranked",
        res["user_first"]["seconds"],
        GOAL_FIRST,
        res["user_first"]["queries"],
        goal_on_full=True,
    )
    row(
        "T first as users run it, classification alone",
        res["user_first_alone"]["seconds"],
        GOAL_FIRST,
        res["user_first_alone"]["queries"],
    )
    row(
        f"T steady as users run it (`_run_company`): stored figures refreshed, then ranked (best of {args.repeat})",
        res["user_stored"]["seconds"],
        statements=res["user_stored"]["queries"],
    )
    row(
        f"the same, figures computed from the documents, stored figures refreshed after (best of {args.repeat})",
        res["user_documents"]["seconds"],
        statements=res["user_documents"]["queries"],
    )
    print()
    # On a machine whose speed drifts from minute to minute, each first run is also held to the
    # F measured just before it (after the same reset and warm-up): the median of those ratios.
    print("| first run, classification alone | each T / the F measured just before it | median | goal |")
    print("|---|---|---:|---|")
    for label, runs in (
        ("from the documents (`_reclassify_company`)", res["firsts_alone"]),
        ("as users run it (`_run_company`)", res["user_first_alones"]),
    ):
        ratios = [r["seconds"] / r["paired_floor"] for r in runs]
        pairs = ", ".join(f"{fmt_s(r['seconds'])} / {fmt_s(r['paired_floor'])}" for r in runs)
        median = statistics.median(ratios)
        verdict = f"<= {GOAL_FIRST:g}: {'met' if median <= GOAL_FIRST else 'NOT MET'}"
        print(f"| {label} | {pairs} | {median:.2f} | {verdict} |")
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


def run(args, registry, company_id, run_date):
    """Every engine measurement on the bench database; returns ``(data, res)`` for the report."""
    recorder = Recorder()
    install_wrappers(registry, recorder)
    data = dataset_figures(registry, company_id, run_date)
    log(
        f"run date {run_date}, window {data['date_from']} .. {data['date_to']}: "
        f"{data['invoices_in_window']:,} of {data['invoices']:,} invoices"
    )
    return data, measure_all(args, registry, recorder, company_id, run_date)
