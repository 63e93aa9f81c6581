from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoData(TransactionCase):
    """The demo a prospect logs into: a Spanish-speaking team, and invoices sold by real people."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team = [
            cls.env.ref(f"kam_management.user_kam_{login}", raise_if_not_found=False)
            for login in ("laura", "javier", "carmen", "elena")
        ]
        if not all(cls.team):
            cls.skipTest(cls, "the addon's demo data is not loaded")

    def test_the_team_works_in_spanish_and_admin_in_english(self):
        self.assertTrue(self.env["res.lang"]._lang_get("es_ES").active)
        self.assertEqual({user.lang for user in self.team}, {"es_ES"})
        self.assertEqual(self.env.ref("base.user_admin").lang, "en_US")
        for user in self.team:
            with self.subTest(user=user.login):
                user_env = self.env(user=user, context={"lang": user.lang})
                self.assertEqual(user_env.ref("kam_management.menu_kam_root").name, "Cuentas clave")
                plan_fields = user_env["kam.account.plan"].fields_get(["kam_id"], ["string"])
                self.assertEqual(plan_fields["kam_id"]["string"], "Gestor de cuentas clave")

    def test_demo_invoices_are_sold_by_people(self):
        """No demo invoice is OdooBot's: a key account's invoices carry its KAM, the others a salesperson."""
        demo_partner_ids = (
            self.env["ir.model.data"]
            .search([("module", "=", "kam_management"), ("model", "=", "res.partner")])
            .mapped("res_id")
        )
        demo_invoices = self.env["account.move"].search(
            [("move_type", "in", ("out_invoice", "out_refund")), ("commercial_partner_id", "in", demo_partner_ids)]
        )
        self.assertGreater(len(demo_invoices), 400)
        self.assertNotIn(self.env.ref("base.user_root"), demo_invoices.invoice_user_id)
        aceros = self.env.ref("kam_management.kam_partner_aceros_cantabrico")
        laura = self.env.ref("kam_management.user_kam_laura")
        self.assertEqual(
            demo_invoices.filtered(lambda move: move.commercial_partner_id == aceros).invoice_user_id, laura
        )
