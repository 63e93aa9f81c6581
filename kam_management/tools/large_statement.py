"""Session settings for the addon's large set-based statements."""

from contextlib import contextmanager

from odoo.tools import SQL

# A reclassification, a cost refresh or a KPI day handles every customer of a company in one
# statement: its sorts, hashes and CTEs hold about 100 bytes per customer several times over.
# PostgreSQL's default work_mem (4 MB) sends them to temporary files from about 40,000
# customers on.
WORK_MEM = "64MB"


@contextmanager
def large_statement(cr):
    """Run the statements of the block with JIT off (compiling the expressions of one large
    statement costs more than it saves) and the memory to sort and hash in RAM; both are set
    for the transaction and put back after the block (left as they are on an error, which
    aborts the transaction anyway). A block inside another one changes nothing more."""
    depth = getattr(cr, "_kam_large_statement_depth", 0)
    if not depth:
        cr.execute(SQL("SET LOCAL jit = off; SET LOCAL work_mem = %s", WORK_MEM))
    cr._kam_large_statement_depth = depth + 1
    try:
        yield
    finally:
        cr._kam_large_statement_depth = depth
    if not depth:
        cr.execute(SQL("SET LOCAL jit TO DEFAULT; SET LOCAL work_mem TO DEFAULT"))
