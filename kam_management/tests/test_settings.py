from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, HttpCase, tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from ..const import DIRECTOR_GROUP
from .common import KamCommon

# Saving one setting of a company, or of three at once: the log costs the same queries.
QUERIES_SAVE_SETTING = 3


@tagged("post_install", "-at_install")
class TestKamSettings(KamCommon):
    """Directors configure the key accounts from Key Accounts > Configuration > Settings,
    without Administration rights; every change is logged, and nobody else may change them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "KAM Company B"})
        cls.company_b.kam_demotion_grace = 1
        cls.director_ab = mail_new_test_user(
            cls.env,
            login="kam_director_ab",
            name="Director Alba",
            groups="base.group_user,kam_management.group_kam_director",
            company_id=cls.company_b.id,
            company_ids=[Command.set((cls.company | cls.company_b).ids)],
        )
        # An administrator who is no key-account user keeps Odoo's Settings page.
        cls.admin = mail_new_test_user(
            cls.env,
            login="kam_settings_admin",
            name="Admin Ada",
            groups="base.group_user,base.group_system",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.Log = cls.env["kam.settings.log"]

    def _logs(self, company=None):
        return self.Log.search([("company_id", "=", (company or self.company).id)])

    def _settings_page_error(self, vals):
        """The message the Settings page shows an administrator for ``vals``."""
        with self.assertRaises(ValidationError) as caught:
            self.env["res.config.settings"].with_user(self.admin).create(vals).execute()
        return str(caught.exception)

    def test_director_saves_settings_without_admin_rights(self):
        """Elena, a director who is no administrator, changes and saves the settings of her company."""
        self.assertFalse(self.director.has_group("base.group_system"))
        self.assertFalse(self.director.has_group("base.group_erp_manager"))
        with self.assertRaises(AccessError):
            self.company.with_user(self.director).write({"kam_threshold_a": 70.0})
        with Form(self.env["kam.settings"].with_user(self.director)) as form:
            self.assertEqual(form.kam_threshold_a, 80.0)
            form.kam_threshold_a = 70.0
            form.kam_demotion_grace = 3
            form.kam_revenue_source = "sale_order"
            form.kam_hourly_cost = 45.0
            form.kam_max_key_accounts = 9
        settings = form.record
        self.assertTrue(settings.execute())
        self.assertRecordValues(
            self.company,
            [
                {
                    "kam_threshold_a": 70.0,
                    "kam_demotion_grace": 3,
                    "kam_revenue_source": "sale_order",
                    "kam_hourly_cost": 45.0,
                    "kam_max_key_accounts": 9,
                }
            ],
        )
        # Saving the same screen again writes through the same checked path.
        settings.write({"kam_window_months": 6})
        self.assertEqual(self.company.kam_window_months, 6)
        # The screen opens again with what was saved.
        self.assertEqual(Form(self.env["kam.settings"].with_user(self.director)).kam_threshold_a, 70.0)

    def test_validation_as_on_the_settings_page_and_nothing_saved(self):
        """A wrong value gets the Settings page's own message, and none of the values is saved."""
        bad_inputs = [
            {"kam_threshold_a": 96.0},
            {"kam_window_months": 0},
            {"kam_value_line": 0.0},
            {"kam_health_healthy_from": 40.0},
            {"kam_survey_reminder_days": -1},
            {"kam_max_key_accounts": 0},
        ]
        rates_before = self.env["kam.cost.rate"].search_count([])
        for bad in bad_inputs:
            with self.subTest(bad=bad):
                expected = self._settings_page_error(bad)
                vals = {"kam_demotion_grace": 4, "kam_hourly_cost": 99.0, **bad}
                with self.assertRaises(ValidationError) as caught:
                    self.env["kam.settings"].with_user(self.director).create(vals)
                self.assertEqual(str(caught.exception), expected)
                self.env.invalidate_all()
                self.assertEqual(self.company.kam_demotion_grace, 0)
                self.assertNotEqual(self.company.kam_hourly_cost, 99.0)
                self.assertEqual(self.company.kam_threshold_a, 80.0)
                self.assertEqual(self.company.kam_window_months, 12)
        self.assertEqual(self.env["kam.cost.rate"].search_count([]), rates_before)
        self.assertFalse(self._logs().filtered(lambda log: log.user_id == self.director))

    def test_kam_and_salesperson_cannot_read_or_write(self):
        """Only directors open the settings, save them or read their history."""
        for user in (self.kam, self.salesman):
            with self.subTest(user=user.login):
                Settings = self.env["kam.settings"].with_user(user)
                with self.assertRaises(AccessError):
                    Settings.create({"kam_threshold_a": 70.0})
                with self.assertRaises(AccessError):
                    Settings.search([])
                with self.assertRaises(AccessError):
                    self.Log.with_user(user).search([])
                with self.assertRaises(AccessError):
                    self.company.with_user(user).write({"kam_threshold_a": 70.0})
                with self.assertRaises(AccessError):
                    self.company.with_user(user)._kam_write_settings({"kam_threshold_a": 70.0})
                self.assertEqual(self.company.kam_threshold_a, 80.0)
        # A director's settings record stays out of a KAM's reach too.
        settings = self.env["kam.settings"].with_user(self.director).create({})
        with self.assertRaises(AccessError):
            settings.with_user(self.kam).write({"kam_threshold_a": 70.0})
        self.assertEqual(self.company.kam_threshold_a, 80.0)

    def test_director_writes_key_account_settings_only(self):
        """The director's path to the company writes key-account settings, nothing else."""
        with self.assertRaises(AccessError):
            self.company.with_user(self.director)._kam_write_settings({"name": "Renamed", "kam_threshold_a": 70.0})
        self.assertNotEqual(self.company.name, "Renamed")
        self.assertEqual(self.company.kam_threshold_a, 80.0)

    def test_director_of_a_changes_only_a(self):
        """A director of company A changes A's settings; B's are out of reach and untouched."""
        self.env["kam.settings"].with_user(self.director).create({"kam_demotion_grace": 5})
        self.assertEqual(self.company.kam_demotion_grace, 5)
        self.assertEqual(self.company_b.kam_demotion_grace, 1)
        with self.assertRaises(AccessError):
            self.env["kam.settings"].with_user(self.director).create(
                {"company_id": self.company_b.id, "kam_demotion_grace": 6}
            )
        self.assertEqual(self.company_b.kam_demotion_grace, 1)
        # A director of both companies edits the current one only.
        Settings = self.env["kam.settings"].with_user(self.director_ab)
        Settings.with_context(allowed_company_ids=[self.company_b.id, self.company.id]).create(
            {"kam_demotion_grace": 2}
        )
        self.assertEqual(self.company_b.kam_demotion_grace, 2)
        self.assertEqual(self.company.kam_demotion_grace, 5)
        # Each director reads the history of their own companies.
        Log = self.Log.with_user(self.director)
        self.assertEqual(Log.search([]).company_id, self.company)
        b_logs = self.Log.with_user(self.director_ab).search([("company_id", "=", self.company_b.id)])
        self.assertEqual(b_logs[0].user_id, self.director_ab)
        self.assertEqual((b_logs[0].old_value, b_logs[0].new_value), ("1", "2"))

    def test_log_records_old_to_new(self):
        """Every change, from this screen or the Settings page, is logged with who, when, what, old and new."""
        before = self._logs()
        self.env["kam.settings"].with_user(self.director).create(
            {"kam_threshold_a": 70.0, "kam_revenue_source": "sale_order", "kam_kpi_include_b": True}
        )
        logs = self._logs() - before
        self.assertRecordValues(
            logs.sorted("setting"),
            [
                {
                    "setting": "kam_kpi_include_b",
                    "old_value": "No",
                    "new_value": "Yes",
                    "user_id": self.director.id,
                    "company_id": self.company.id,
                },
                {
                    "setting": "kam_revenue_source",
                    "old_value": "Posted invoices",
                    "new_value": "Confirmed sales orders",
                    "user_id": self.director.id,
                    "company_id": self.company.id,
                },
                {
                    "setting": "kam_threshold_a",
                    "old_value": "80.00",
                    "new_value": "70.00",
                    "user_id": self.director.id,
                    "company_id": self.company.id,
                },
            ],
        )
        self.assertTrue(all(logs.mapped("date")))
        # Saving unchanged values adds nothing.
        self.env["kam.settings"].with_user(self.director).create({"kam_threshold_a": 70.0})
        self.assertEqual(self._logs() - before, logs)
        # The Settings page keeps working for administrators, and logs its changes too.
        self.env["res.config.settings"].with_user(self.admin).create({"kam_demotion_grace": 4}).execute()
        self.assertEqual(self.company.kam_demotion_grace, 4)
        page_log = self._logs() - before - logs
        self.assertRecordValues(
            page_log, [{"setting": "kam_demotion_grace", "old_value": "0", "new_value": "4", "user_id": self.admin.id}]
        )
        self.assertEqual(
            dict(page_log._fields["setting"]._description_selection(self.env))["kam_demotion_grace"],
            "Demotion grace (runs)",
        )

    def test_logging_is_set_based(self):
        """Logging a change costs the same queries for one company as for three."""
        other = self.env["res.company"].create([{"name": "KAM Company C"}, {"name": "KAM Company D"}])
        for companies, grace in ((self.company, 7), (self.company | other, 8)):
            self._warm_up(lambda c=companies, g=grace: c.write({"kam_demotion_grace": g - 5}))
            self.env.invalidate_all()
            with self.subTest(companies=len(companies)), self.assertQueryCount(QUERIES_SAVE_SETTING):
                companies.write({"kam_demotion_grace": grace})
                self.env.flush_all()
            logged = self.Log.search([("company_id", "in", companies.ids), ("new_value", "=", str(grace))])
            self.assertEqual(logged.company_id, companies)

    def test_same_settings_as_the_settings_page(self):
        """The director's screen offers every key-account setting of the Settings page, no more."""
        page = self.env["res.config.settings"].get_views([(False, "form")])["views"]["form"]["arch"]
        page_fields = set(etree.fromstring(page).xpath("//block[@name='kam_settings']//field/@name"))
        screen = self.env["kam.settings"].with_user(self.director).get_views([(False, "form")])
        screen_fields = set(etree.fromstring(screen["views"]["form"]["arch"]).xpath("//setting//field/@name"))
        self.assertEqual(page_fields, set(self.env["res.company"]._kam_setting_fields()))
        self.assertEqual(screen_fields - {"company_id"}, page_fields)
        self.assertTrue(self.director.has_group(DIRECTOR_GROUP))

    def test_settings_declared_once(self):
        """Both screens take their key-account fields from one mixin, and the per-tier rules
        are no company setting any more: they live on the service levels, which both screens
        open."""
        settings = set(self.env["res.company"]._kam_setting_fields())
        mixin = {
            name
            for name, field in self.env["kam.settings.mixin"]._fields.items()
            if field.related and field.related.startswith("company_id.kam_")
        }
        self.assertEqual(settings, mixin)
        self.assertLessEqual({"res.config.settings", "kam.settings"}, self.env["kam.settings.mixin"]._inherit_children)
        self.assertFalse({"kam_contact_interval_a", "kam_survey_months_a"} & set(self.env["res.company"]._fields))
        action = self.env["kam.settings"].with_user(self.director).create({}).action_kam_open_service_levels()
        self.assertEqual(action["res_model"], "kam.service.level")


@tagged("post_install", "-at_install")
class TestKamSettingsTour(KamCommon, HttpCase):
    """A director changes a key-account setting from the Key Accounts app in a real browser."""

    def test_director_changes_a_setting_from_the_menu(self):
        self.start_tour("/odoo", "kam_settings_tour", login="kam_director")
        self.assertEqual(self.company.kam_demotion_grace, 3)
        log = self.env["kam.settings.log"].search([("company_id", "=", self.company.id)], limit=1)
        self.assertRecordValues(
            log, [{"setting": "kam_demotion_grace", "old_value": "0", "new_value": "3", "user_id": self.director.id}]
        )
