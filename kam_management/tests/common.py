from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from odoo import Command, fields

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.mail.tests.common import mail_new_test_user


class KamCommon(AccountTestInvoicingCommon):
    """A fresh company with a chart of accounts, and users for each key-account role.

    Every test works in that company, so demo data never leaks into an assertion.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.write(
            {
                "kam_threshold_a": 80.0,
                "kam_threshold_b": 95.0,
                "kam_window_months": 12,
                "kam_demotion_grace": 0,
                "kam_revenue_source": "invoice",
            }
        )
        cls.today = fields.Date.from_string("2026-06-15")
        # The test user runs the engine and reads its figures, as a director would.
        cls.env.user.groups_id |= cls.env.ref("kam_management.group_kam_director")
        cls.Classification = cls.env["kam.classification"]
        cls.director = mail_new_test_user(
            cls.env,
            login="kam_director",
            name="Director Dora",
            groups="base.group_user,kam_management.group_kam_director",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.kam = mail_new_test_user(
            cls.env,
            login="kam_manager",
            name="Manager Mario",
            groups="base.group_user,kam_management.group_kam_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.salesman = mail_new_test_user(
            cls.env,
            login="kam_salesman",
            name="Salesman Sam",
            groups="base.group_user,sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    @classmethod
    def _customer(cls, name, **vals):
        return cls.env["res.partner"].create({"name": name, "is_company": True, **vals})

    @classmethod
    def _customers(cls, count, prefix="Customer"):
        return cls.env["res.partner"].create([{"name": f"{prefix} {i:03d}", "is_company": True} for i in range(count)])

    @classmethod
    def _plan(cls, partner, kam, **vals):
        """An account plan of ``partner`` in the test company, run by ``kam``."""
        return cls.env["kam.account.plan"].create(
            {"partner_id": partner.id, "company_id": cls.company.id, "kam_id": kam.id, **vals}
        )

    @classmethod
    def _post_invoices(cls, specs, company=None):
        """Create and post customer invoices; ``specs`` are ``(partner, amount, date[, move_type])``.

        A negative amount, or move_type ``out_refund``, makes a credit note.
        """
        company = company or cls.company
        account = (
            cls.env["account.account"]
            .with_company(company)
            .search([("account_type", "=", "income"), ("company_ids", "in", company.id)], limit=1)
        )
        vals_list = []
        for spec in specs:
            partner, amount, date = spec[:3]
            move_type = spec[3] if len(spec) > 3 else ("out_refund" if amount < 0 else "out_invoice")
            vals_list.append(
                {
                    "move_type": move_type,
                    "partner_id": partner.id,
                    "invoice_date": date,
                    "date": date,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Goods",
                                "quantity": 1,
                                "price_unit": abs(amount),
                                "tax_ids": [],
                                "account_id": account.id,
                            }
                        )
                    ],
                }
            )
        moves = cls.env["account.move"].with_company(company).create(vals_list)
        moves.action_post()
        return moves

    def _warm_up(self, call):
        """Call ``call()`` once, the way ``assertQueryCount`` then measures it: everything
        flushed before and after, and the bus's garbage-collection lottery off. The first call
        in a registry fills caches (xml ids, views of mail) that later calls do not query."""
        with patch("random.random", lambda: 1):
            self.env.flush_all()
            self.env.cr.flush()
            self.env.invalidate_all()
            call()
            self.env.flush_all()
            self.env.cr.flush()

    def _run(self, company=None, run_date=None):
        return self.Classification._reclassify_company(company or self.company, run_date or self.today)

    def _row(self, partner, company=None):
        return self.Classification.search(
            [("company_id", "=", (company or self.company).id), ("partner_id", "=", partner.id)]
        )

    def _row_versions(self, rows):
        """``{id: ctid}`` of classification rows: any UPDATE gives a row a new ctid, even one
        that sets the same values, so equal versions prove that nothing was written."""
        self.env.flush_all()
        self.env.cr.execute("SELECT id, ctid::text FROM kam_classification WHERE id = ANY(%s)", [rows.ids])
        return dict(self.env.cr.fetchall())

    def _tiers(self, partners, company=None):
        company = company or self.company
        return [p.with_company(company).kam_tier or False for p in partners]

    def months_ago(self, months, days=0):
        return self.today - relativedelta(months=months, days=days)
