#!/usr/bin/env python3
"""Benchmark of the customer surveys: the survey figures in the daily KPI run, and the cadence job.

Runs on the benchmark database of ``run_bench.py`` (its customers and invoices):

* makes 20,000 of its customers key accounts (tier A, 20 Key Account Managers: the KPI
  benchmark's ``mark_key_accounts``) and gives each three contacts with an email; the third is a
  new stakeholder nobody has asked yet;
* inserts with SQL, once, 200,000 answered invitations of the shipped relationship survey
  (``survey.user_input`` done, with the recommendation line and the four satisfaction lines: a
  million answer lines) from the first two contacts of each account, spread over two years,
  and 20,000 invitations still unanswered (already reminded);
* (a) the daily KPI run with the survey figures included: F, the floor, is the bare aggregate
  statement of the snapshot (``_kpi_select_sql``, survey figures included: every KPI of every
  account computed and fetched, nothing written); T is ``_take_snapshots`` with commit for the
  first day, the next day (alerts on) and a rerun; goal T / F <= 2. The survey figures' own
  statement (``_kam_survey_figures_sql``) is timed alone too, against a bare single-pass
  aggregate of the same answers (``BARE_SURVEY_SQL``), to show what the survey adds to F;
* (b) one batch of the scheduled cadence job (``_kam_survey_cadence_batch`` with
  ``CADENCE_BATCH``: the due statement, the invitations, their mails, the reminders; the cron
  calls it again while contacts are left) with 2,000 and with 20,000 key accounts due, time and
  statements, each run rolled back so that both sizes start from the same data; goal: the same
  number of statements at both sizes.

Call ``run(env, company, run_date)`` from a benchmark runner, or run this file:

    python3 bench/bench_survey.py [--db kam_bench] [--answers 200000] [--repeat 3]

The database must hold the data set of ``run_bench.py``; ODOO_ADDONS_PATH and ODOO_RC are read
as there.
"""

import datetime
import json
import sys
import time

import bench_kpi
from harness import best_of, logger, run_standalone, standalone_parser

ACCOUNTS = 20_000
ANSWERS = 200_000
PENDING = 20_000
CONTACTS_PER_ACCOUNT = 3  # the last one has never been invited
DAYS = 730
CADENCE_SIZES = (2_000, 20_000)
GOAL_RATIO = 2.0
SURVEY_MARKER_KEY = "kam_bench.survey_dataset"
SEED = 0.14

log = logger("survey")


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------
CONTACTS_SQL = """
INSERT INTO res_partner (
    parent_id, commercial_partner_id, name, complete_name, commercial_company_name, email, ref,
    is_company, active, type, lang, autopost_bills, customer_rank, supplier_rank,
    partner_share, employee, color, create_uid, write_uid, create_date, write_date)
SELECT a.partner_id, a.partner_id, 'Bench Contact ' || n, a.name || ', Bench Contact ' || n, a.name,
       'contact' || n || '.' || a.partner_id || '@bench.example', 'KS' || a.partner_id || '-' || n,
       false, true, 'contact', 'en_US', 'ask', 0, 0,
       true, false, 0, 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
  FROM (SELECT k.partner_id, p.name FROM kam_classification k JOIN res_partner p ON p.id = k.partner_id
         WHERE k.company_id = %(company)s AND k.tier = 'a') a
 CROSS JOIN generate_series(1, %(per_account)s) n
"""

# Answers of the contacts who have answered before (all but the last of each account): the
# score leans on the account (some accounts happier than others), the answer date is uniform over
# the two years, the invitation came 1 to 7 days earlier. Detractors and passives have a follow-up,
# closed after a few days except those of the last month.
ANSWERS_SQL = """
INSERT INTO survey_user_input (
    survey_id, partner_id, email, nickname, state, access_token, test_entry, is_session_answer,
    survey_first_submitted, start_datetime, end_datetime, create_date, write_date, create_uid, write_uid,
    kam_company_id, kam_account_id, kam_recommendation_score, kam_nps_category,
    kam_loop_state, kam_loop_user_id, kam_loop_closed_on, kam_loop_days)
SELECT %(survey)s, v.contact_id, v.email, v.name, %(state)s, md5(v.g::text || random()::text), false, false,
       %(done)s, v.answered - interval '8 minutes', CASE WHEN %(done)s THEN v.answered END,
       v.answered - make_interval(days => 1 + floor(random() * 7)::int), v.answered, 1, 1,
       %(company)s, v.account_id,
       CASE WHEN %(done)s THEN v.score END,
       CASE WHEN NOT %(done)s THEN NULL WHEN v.score >= 9 THEN 'promoter'
            WHEN v.score <= 6 THEN 'detractor' ELSE 'passive' END,
       CASE WHEN %(done)s AND v.score <= 8 THEN
            CASE WHEN v.answered < %(run_date)s::timestamp - interval '30 days' THEN 'closed' ELSE 'open' END END,
       CASE WHEN %(done)s AND v.score <= 8 THEN v.manager_id END,
       CASE WHEN %(done)s AND v.score <= 8 AND v.answered < %(run_date)s::timestamp - interval '30 days'
            THEN v.answered + interval '3 days' END,
       CASE WHEN %(done)s AND v.score <= 8 AND v.answered < %(run_date)s::timestamp - interval '30 days'
            THEN 3.0 ELSE 0.0 END
  FROM (SELECT s.g, c.contact_id, c.account_id, c.email, c.name, c.manager_id,
               %(run_date)s::timestamp - make_interval(secs => random() * %(days)s * 86400) AS answered,
               LEAST(10, GREATEST(0, round(c.mood + 2.5 * (random() + random() - 1))))::int AS score
          FROM (SELECT g, floor(random() * %(n)s)::int AS i FROM generate_series(1, %(m)s) g) s
          JOIN bench_survey_contact c ON c.i = s.i) v
"""

# The recommendation line and one line per satisfaction question (1–5, near the score / 2).
LINES_SQL = """
INSERT INTO survey_user_input_line (
    user_input_id, survey_id, question_id, question_sequence, answer_type, value_scale, skipped,
    create_uid, write_uid, create_date, write_date)
SELECT ui.id, ui.survey_id, q.id, q.sequence, 'scale',
       CASE WHEN q.id = %(recommend)s THEN ui.kam_recommendation_score
            ELSE LEAST(q.scale_max, GREATEST(q.scale_min,
                       round(q.scale_min + (q.scale_max - q.scale_min) * ui.kam_recommendation_score / 10.0
                             + random() * 2 - 1)))::int END,
       false, 1, 1, ui.end_datetime, ui.end_datetime
  FROM survey_user_input ui
  JOIN survey_question q ON q.survey_id = ui.survey_id AND q.question_type = 'scale'
 WHERE ui.id > %(after)s AND ui.state = 'done'
"""

# A bare single pass over the same answers: the floor of the survey figures (the latest round's
# NPS left out: it needs each account's last answer date first).
BARE_SURVEY_SQL = """
SELECT ui.kam_account_id,
       100.0 * (COUNT(*) FILTER (WHERE w.in_window AND ui.kam_recommendation_score >= 9)
                - COUNT(*) FILTER (WHERE w.in_window AND ui.kam_recommendation_score <= 6))
             / NULLIF(COUNT(*) FILTER (WHERE w.in_window), 0) AS nps,
       AVG(l.score) FILTER (WHERE w.in_window) AS satisfaction,
       COUNT(*) FILTER (WHERE w.in_window) AS answers,
       COUNT(*) FILTER (WHERE ui.create_date >= %(window_from)s) AS invited,
       COUNT(*) FILTER (WHERE ui.create_date >= %(window_from)s AND ui.state = 'done') AS answered,
       MAX(ui.end_datetime)::date AS last_answer
  FROM survey_user_input ui
 CROSS JOIN LATERAL (SELECT ui.state = 'done' AND ui.end_datetime >= %(window_from)s AS in_window) w
  LEFT JOIN (SELECT l.user_input_id, AVG((l.value_scale - 1) * 2.5) AS score
               FROM survey_user_input_line l
              WHERE l.answer_type = 'scale' AND l.question_id != %(recommend)s
              GROUP BY l.user_input_id) l ON l.user_input_id = ui.id AND w.in_window
 WHERE ui.kam_company_id = %(company)s AND ui.kam_account_id IS NOT NULL
 GROUP BY ui.kam_account_id
"""


def insert_answers(env, company, run_date, accounts, answers, pending):
    """The contacts and answers of the benchmark (once; a marker says what is there)."""
    cr = env.cr
    Param = env["ir.config_parameter"].sudo()
    survey = company.kam_survey_id or env.ref("kam_management.survey_key_account_relationship")
    wanted = {
        "accounts": accounts,
        "answers": answers,
        "pending": pending,
        "company_id": company.id,
        "survey_id": survey.id,
        "seed": SEED,
    }
    marker = json.loads(Param.get_param(SURVEY_MARKER_KEY) or "{}")
    if {key: marker.get(key) for key in wanted} == wanted:
        log(f"reusing {answers:,} answers inserted on {marker.get('built_on')}")
        return marker
    log("removing the survey data of a previous build")
    cr.execute("DELETE FROM survey_user_input WHERE partner_id IN (SELECT id FROM res_partner WHERE ref LIKE 'KS%%')")
    cr.execute("DELETE FROM res_partner WHERE ref LIKE 'KS%%'")
    if company.kam_survey_id != survey:
        company.kam_survey_id = survey
    env.flush_all()
    t0 = time.perf_counter()
    cr.execute(CONTACTS_SQL, {"company": company.id, "per_account": CONTACTS_PER_ACCOUNT})
    contacts = cr.rowcount
    cr.execute("SELECT setseed(%s)", [SEED])
    cr.execute("DROP TABLE IF EXISTS bench_survey_contact")
    cr.execute(
        """
        CREATE TEMP TABLE bench_survey_contact AS
        SELECT (row_number() OVER (ORDER BY p.id) - 1)::int AS i, p.id AS contact_id,
               p.commercial_partner_id AS account_id, p.email, p.name, k.manager_id,
               -- the account's mood: its contacts answer around it
               4 + 6 * ((hashtext(p.commercial_partner_id::text) & 1023) / 1023.0) AS mood
          FROM res_partner p
          JOIN kam_classification k ON k.partner_id = p.commercial_partner_id AND k.company_id = %s
         WHERE p.ref LIKE 'KS%%' AND p.ref NOT LIKE %s
        """,
        [company.id, f"%-{CONTACTS_PER_ACCOUNT}"],
    )
    cr.execute("SELECT count(*) FROM bench_survey_contact")
    answering = cr.fetchone()[0]
    cr.execute("CREATE UNIQUE INDEX ON bench_survey_contact (i)")
    cr.execute("SELECT COALESCE(max(id), 0) FROM survey_user_input")
    after = cr.fetchone()[0]
    params = {
        "survey": survey.id,
        "company": company.id,
        "run_date": run_date,
        "days": DAYS,
        "n": answering,
    }
    cr.execute(ANSWERS_SQL, {**params, "m": answers, "state": "done", "done": True})
    inserted = cr.rowcount
    cr.execute(ANSWERS_SQL, {**params, "m": pending, "state": "new", "done": False})
    inserted_pending = cr.rowcount
    # Unanswered invitations were reminded a week after they were sent (the past's cadence).
    cr.execute(
        "UPDATE survey_user_input SET kam_reminded_on = create_date + interval '7 days' "
        "WHERE id > %s AND state = 'new'",
        [after],
    )
    cr.execute(
        LINES_SQL,
        {"recommend": survey.kam_recommendation_question_id.id, "after": after},
    )
    lines = cr.rowcount
    cr.execute("DROP TABLE bench_survey_contact")
    elapsed = time.perf_counter() - t0
    marker = {
        **wanted,
        "contacts": contacts,
        "inserted_answers": inserted,
        "inserted_pending": inserted_pending,
        "answer_lines": lines,
        "insert_seconds": round(elapsed, 1),
        "built_on": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    Param.set_param(SURVEY_MARKER_KEY, json.dumps(marker))
    env.invalidate_all()
    cr.commit()
    for table in ("res_partner", "survey_user_input", "survey_user_input_line"):
        cr.execute(f"ANALYZE {table}")
    cr.commit()
    log(f"inserted {contacts:,} contacts, {inserted:,} answers, {inserted_pending:,} pending, {lines:,} lines")
    return marker


# ----------------------------------------------------------------------------------------
# Measures
# ----------------------------------------------------------------------------------------
def measure_statement(env, query, params=None, repeat=3):
    """Best of ``repeat`` runs of a statement, fetched whole, with the daily run's settings."""
    from odoo.addons.kam_management.tools.large_statement import large_statement

    rows = []

    def once():
        with large_statement(env.cr):
            t0 = time.perf_counter()
            env.cr.execute(query, params)
            rows[:] = env.cr.fetchall()
            return time.perf_counter() - t0

    once()
    best, _all = best_of(once, repeat)
    return best, len(rows)


def set_due_accounts(env, company, count):
    """``count`` key accounts in tier A (every six months), the others in C (never asked)."""
    cr = env.cr
    cr.execute(
        """
        UPDATE kam_classification k
           SET tier = CASE WHEN o.n <= %(count)s THEN 'a' ELSE 'c' END
          FROM (SELECT id, row_number() OVER (ORDER BY partner_id) AS n
                  FROM kam_classification WHERE company_id = %(company)s AND is_key_account) o
         WHERE k.id = o.id AND k.tier IS DISTINCT FROM CASE WHEN o.n <= %(count)s THEN 'a' ELSE 'c' END
        """,
        {"company": company.id, "count": count},
    )
    cr.execute(
        "UPDATE kam_classification SET tier = 'c' WHERE company_id = %s AND NOT is_key_account AND tier != 'c'",
        [company.id],
    )
    env.invalidate_all()
    cr.commit()


def measure_cadence(env, company, count):
    """One batch of the scheduled cadence job (``CADENCE_BATCH`` invitations and reminders, one
    transaction, as the cron calls it) with ``count`` accounts due, rolled back afterwards.

    Returns (seconds, statements, invitations, reminders, due accounts, due statement seconds,
    invitations and reminders left for the next batches)."""
    from odoo.addons.kam_management.models import survey_user_input  # noqa: PLC0415 (needs the addons path)

    set_due_accounts(env, company, count)
    Due = env["kam.survey.due"]
    Answer = env["survey.user_input"]
    now = datetime.datetime.now().replace(microsecond=0)
    due_sql = Due._kam_due_sql(now.date(), detail=True)
    t0 = time.perf_counter()
    env.cr.execute(due_sql)
    due_rows = env.cr.dictfetchall()
    t_due = time.perf_counter() - t0
    accounts = len({(row["company_id"], row["account_id"]) for row in due_rows})
    env.invalidate_all()
    before = env.cr.sql_log_count
    t0 = time.perf_counter()
    invitations, reminders, left = Answer._kam_survey_cadence_batch(now, survey_user_input.CADENCE_BATCH)
    env.flush_all()
    elapsed = time.perf_counter() - t0
    statements = env.cr.sql_log_count - before
    result = (elapsed, statements, len(invitations), len(reminders), accounts, t_due, left)
    env.cr.rollback()
    env.invalidate_all()
    return result


def check_agreement(env, company, run_date):
    """The snapshot's survey figures are those of the survey statement (same definition)."""
    env.cr.execute(
        """
        SELECT partner_id, customer_nps, customer_satisfaction, survey_answer_count
          FROM kam_kpi_snapshot WHERE company_id = %s AND date = %s AND survey_answer_count > 0
         ORDER BY partner_id LIMIT 50
        """,
        [company.id, run_date],
    )
    rows = env.cr.fetchall()
    figures = env["survey.user_input"]._kam_survey_figures(company, run_date, [row[0] for row in rows])
    for partner_id, nps, satisfaction, answers in rows:
        figure = figures[partner_id]
        if (
            abs((figure["nps"] or 0) - nps) > 1e-6
            or abs((figure["satisfaction"] or 0) - satisfaction) > 1e-6
            or figure["answer_count"] != answers
        ):
            raise AssertionError(f"snapshot and survey figures disagree for partner {partner_id}")
    return len(rows)


# ----------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------
def run(env, company, run_date, accounts=ACCOUNTS, answers=ANSWERS, repeat=3, sizes=CADENCE_SIZES):
    """Measure the survey figures and the cadence on ``env``'s database; print and return the
    figures. Commits: it writes its key accounts, contacts, answers and snapshots."""
    env = env(su=True)
    company = company.with_env(env)
    log(f"survey bench: {accounts:,} key accounts of {company.name} on {run_date}, {answers:,} answers")
    users = bench_kpi._kam_users(env, company)
    env.cr.commit()
    bench_kpi.mark_key_accounts(env, company, users, accounts)
    # The cadence is the service levels' default (kam.service.level): A every six months, B
    # yearly, C never.
    data = insert_answers(env, company, run_date, accounts, answers, PENDING)
    bench_kpi.reset_snapshots(env)
    yesterday = run_date - datetime.timedelta(days=1)

    # (a) the daily KPI run, survey figures included
    bench_kpi.refresh_figures(env, company)
    bench_kpi.measure_floor(env, company, run_date, 1)  # warm the cache
    floor, floors = bench_kpi.measure_floor(env, company, run_date, repeat)
    log(f"F: best of {repeat}: {floor:.3f} s; all: {', '.join(f'{f:.3f}' for f in floors)}")
    Answer = env["survey.user_input"]
    Answer._kam_flush_survey_sources()
    survey_alone, survey_rows = measure_statement(env, Answer._kam_survey_figures_sql(company, run_date), None, repeat)
    window_from = run_date - datetime.timedelta(days=365) + datetime.timedelta(days=1)
    bare, bare_rows = measure_statement(
        env,
        BARE_SURVEY_SQL,
        {
            "company": company.id,
            "window_from": window_from,
            "recommend": company.kam_survey_id.kam_recommendation_question_id.id,
        },
        repeat,
    )
    log(f"survey statement alone {survey_alone:.3f} s ({survey_rows:,} rows); bare aggregate {bare:.3f} s")

    first = bench_kpi.measure_take(env, company, yesterday, alerts=False)
    log(f"T first day (empty table): {first[0]:.3f} s, {first[1]:,} rows, {first[2]} statements")
    bench_kpi.raise_alerts_beforehand(env, company)
    daily = bench_kpi.measure_take(env, company, run_date, alerts=True)
    log(f"T next day (alerts on, none new): {daily[0]:.3f} s, {daily[1]:,} rows, {daily[2]} statements")
    rerun = min(bench_kpi.measure_take(env, company, run_date, alerts=True) for _i in range(repeat))
    log(f"T rerun of the day (best of {repeat}): {rerun[0]:.3f} s, {rerun[1]:,} rows written")
    agreeing = check_agreement(env, company, run_date)
    env.cr.execute(
        "SELECT count(*) FILTER (WHERE survey_answer_count > 0), count(*) FILTER (WHERE satisfaction_source = "
        "'customer') FROM kam_kpi_snapshot WHERE company_id = %s AND date = %s",
        [company.id, run_date],
    )
    with_answers, customer_source = env.cr.fetchone()
    bench_kpi.reset_snapshots(env)

    # (b) the cadence job at two sizes, after one run that fills the caches
    measure_cadence(env, company, min(sizes))
    cadence = []
    for size in sizes:
        # Rendering tens of thousands of mails takes a while: one run per size (the statements
        # counted do not vary from run to run; the warm-up run above filled the caches).
        runs = [measure_cadence(env, company, size)]
        best = min(runs)
        cadence.append({"size": size, "runs": runs, "best": best})
        log(
            f"cadence, {size:,} accounts: {best[0]:.2f} s, {best[1]} statements, {best[2]:,} invitations, "
            f"{best[3]:,} reminders in one batch ({best[4]:,} accounts due, due statement {best[5]:.3f} s, "
            f"{best[6]:,} left for the next batches)"
        )
    bench_kpi.mark_key_accounts(env, company, users, accounts)

    figures = {
        "accounts": accounts,
        "data": data,
        "floor_seconds": floor,
        "survey_statement_seconds": survey_alone,
        "survey_rows": survey_rows,
        "bare_survey_seconds": bare,
        "bare_survey_rows": bare_rows,
        "first_seconds": first[0],
        "first_rows": first[1],
        "daily_seconds": daily[0],
        "daily_statements": daily[2],
        "rerun_seconds": rerun[0],
        "rerun_written": rerun[1],
        "ratio_first": first[0] / floor,
        "ratio_daily": daily[0] / floor,
        "ratio_rerun": rerun[0] / floor,
        "snapshots_with_answers": with_answers,
        "snapshots_customer_source": customer_source,
        "agreeing_rows": agreeing,
        "cadence": [
            {
                "size": c["size"],
                "seconds": c["best"][0],
                "statements": [r[1] for r in c["runs"]],
                "invitations": c["best"][2],
                "reminders": c["best"][3],
                "accounts_due": c["best"][4],
                "due_statement_seconds": c["best"][5],
                "left": c["best"][6],
            }
            for c in cadence
        ],
    }
    report(figures, repeat)
    return figures


def _met(ok):
    return "met" if ok else "NOT MET"


def report(f, repeat):
    d = f["data"]
    print()
    print(
        f"Customer surveys: {f['accounts']:,} key accounts, {d['contacts']:,} contacts, "
        f"{d['inserted_answers']:,} answers ({d['answer_lines']:,} answer lines) and "
        f"{d['inserted_pending']:,} unanswered invitations over two years"
    )
    print()
    print("| measure | time | ratio to F | goal |")
    print("|---|---:|---:|---|")
    print(
        f"| F: `_kpi_select_sql`, every KPI computed and fetched, survey figures included (best of {repeat}) "
        f"| {f['floor_seconds']:.3f} s | 1.00 | |"
    )
    print(
        f"| of which the survey figures alone: `_kam_survey_figures_sql` ({f['survey_rows']:,} accounts) "
        f"| {f['survey_statement_seconds']:.3f} s | {f['survey_statement_seconds'] / f['floor_seconds']:.2f} | |"
    )
    print(
        f"| bare single-pass aggregate of the same answers ({f['bare_survey_rows']:,} accounts) "
        f"| {f['bare_survey_seconds']:.3f} s | {f['bare_survey_seconds'] / f['floor_seconds']:.2f} | |"
    )
    for label, key in (
        ("T first day: empty table, commit included", "first"),
        (f"T next day: rows added, alerts checked ({f['daily_statements']} statements)", "daily"),
        (f"T rerun of the day: {f['rerun_written']} rows written (best of {repeat})", "rerun"),
    ):
        ratio = f[f"ratio_{key}"]
        print(
            f"| {label} | {f[f'{key}_seconds']:.3f} s | {ratio:.2f} | <= {GOAL_RATIO:g} {_met(ratio <= GOAL_RATIO)} |"
        )
    print()
    print(
        f"snapshot rows with survey answers: {f['snapshots_with_answers']:,}; satisfaction from the customer: "
        f"{f['snapshots_customer_source']:,}; {f['agreeing_rows']} rows checked against the survey statement"
    )
    print()
    print("| cadence job | accounts due | invitations | reminders | time | statements | due statement alone |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for c in f["cadence"]:
        print(
            f"| {c['size']:,} key accounts in the cadence | {c['accounts_due']:,} | {c['invitations']:,} "
            f"| {c['reminders']:,} | {c['seconds']:.2f} s | {', '.join(map(str, c['statements']))} "
            f"| {c['due_statement_seconds']:.3f} s |"
        )
    counts = [set(c["statements"]) for c in f["cadence"]]
    same = len(set().union(*counts)) == 1
    print()
    print(f"statements independent of the number of accounts: {_met(same)}")


def main(argv=None):
    parser = standalone_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--answers", type=int, default=ANSWERS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sizes", default=",".join(map(str, CADENCE_SIZES)), help="key accounts due in the cadence runs"
    )
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    return run_standalone(
        args,
        "bench_survey",
        lambda env, company, run_date: run(
            env, company, run_date, accounts=args.accounts, answers=args.answers, repeat=args.repeat, sizes=sizes
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
