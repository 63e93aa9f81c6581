"""Drop ``kam_classification.sl_team_id``, which Odoo leaves in place when a field goes: it
would keep costing its foreign-key check on every row a classification run inserts. The sales
team a service level sets is given to the customer's orders and opportunities when they are
made (``sale.order``, ``crm.lead``); nothing read what was kept here.

(The window rows' copies of the account's tier, quadrant and manager are dropped by
``kam.account.fact._init_window_table``, which runs at every upgrade.)
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute("ALTER TABLE kam_classification DROP COLUMN IF EXISTS sl_team_id")
