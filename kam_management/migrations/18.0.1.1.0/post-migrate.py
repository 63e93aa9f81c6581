"""Drop what the engine no longer writes, so that it costs nothing on upgraded databases.

kam.tier.history is append-only: ``date`` and ``user_id`` say when and by whom, and the
company is the classification row's. A field that is no longer stored keeps its column (and
its foreign key, checked on every inserted line) until it is dropped here.
"""


def migrate(cr, version):
    cr.execute(
        """
        ALTER TABLE kam_tier_history
            DROP COLUMN IF EXISTS company_id,
            DROP COLUMN IF EXISTS create_uid,
            DROP COLUMN IF EXISTS create_date,
            DROP COLUMN IF EXISTS write_uid,
            DROP COLUMN IF EXISTS write_date
        """
    )
