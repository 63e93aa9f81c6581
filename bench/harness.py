"""Shared harness of the benchmarks: where Odoo and the addon are, the database helpers, the
machine facts, logging and the entry point of a benchmark module run alone.

Every benchmark module imports this one (and ``dataset`` for the data set); nothing here
imports a benchmark module, so there is no import cycle.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

try:
    import odoo
except ImportError:  # pragma: no cover
    sys.exit("bench: cannot import odoo; run it with the Python that runs Odoo 18.0")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


MODULE = "kam_management"


MARKER_KEY = "kam_bench.dataset"  # ir.config_parameter holding the description of the data set


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


def _env(name, default):
    return os.environ.get("BENCH_" + name, default)


def _env_flag(name):
    return _env(name, "").lower() in ("1", "true", "yes", "on")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fmt_s(seconds):
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def logger(name):
    """A ``log`` whose lines name the benchmark module they come from."""
    return lambda msg: log(f"{name}: {msg}")


def best_of(measure, repeat):
    """``(best, all)`` of ``repeat`` calls of ``measure()``, which returns a time."""
    times = [measure() for _i in range(repeat)]
    return min(times), times


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
# Machine and source
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


# ----------------------------------------------------------------------------------------
# Running a benchmark body on the bench database
# ----------------------------------------------------------------------------------------
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
    parser.add_argument("--db", default=_env("DB", "kam_bench"))
    parser.add_argument("--json", default="", help="write the figures to this JSON file")
    return parser


def run_standalone(args, script, body):
    """Run a benchmark module alone: ``body(env, company, run_date)`` on the database that
    ``run_bench.py`` built, then write its result to ``--json`` if asked."""
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
