import importlib.util
from datetime import timedelta

from lxml import etree

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import file_path

from odoo.addons.mail.tests.common import mail_new_test_user

from .common import KamCommon


@tagged("post_install", "-at_install")
class TestCompetency(KamCommon):
    """The competency framework, assessments and the gaps a director trains for."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kam2 = mail_new_test_user(
            cls.env,
            login="kam_comp_maria",
            name="Manager Maria",
            groups="base.group_user,kam_management.group_kam_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.Competency = cls.env["kam.competency"]
        cls.Assessment = cls.env["kam.competency.assessment"]
        cls.Gap = cls.env["kam.competency.gap"]
        cls.negotiation = cls.Competency.create(
            {
                "company_id": cls.company.id,
                "name": "Test negotiation",
                "category": "commercial",
                "expected_level_a": 5,
                "expected_level_b": 3,
                "expected_level_c": 2,
            }
        )
        cls.crm = cls.Competency.create(
            {
                "company_id": cls.company.id,
                "name": "Test CRM",
                "category": "execution",
                "expected_level_a": 4,
                "expected_level_b": 4,
                "expected_level_c": 1,
            }
        )
        cls.today_real = fields.Date.context_today(cls.Assessment)

    def _assess(self, user, competency, level, days_ago=0, **vals):
        return self.Assessment.create(
            {
                "user_id": user.id,
                "competency_id": competency.id,
                "level": level,
                "date": self.today_real - timedelta(days=days_ago),
                **vals,
            }
        )

    def _gap(self, user, competency):
        return self.Gap.search([("user_id", "=", user.id), ("competency_id", "=", competency.id)])

    def test_framework_is_loaded_for_every_company(self):
        """The shipped framework: six competencies in four areas, copied to new companies."""
        shipped = self.Competency.sudo().search([("company_id", "=", self.env.ref("base.main_company").id)])
        self.assertGreaterEqual(len(shipped), 6)
        mine = self.Competency.search([("company_id", "=", self.company.id)]) - self.negotiation - self.crm
        self.assertEqual(len(mine), 6, "the test company was created with its own copy")
        self.assertEqual(
            set(mine.mapped("category")),
            {"commercial", "strategy", "relationship", "execution"},
        )
        company_2 = self.env["res.company"].create({"name": "Competency second company"})
        copies = self.Competency.search([("company_id", "=", company_2.id)])
        self.assertEqual(len(copies), 6)
        self.assertFalse(copies & mine)
        copies[0].expected_level_a = 2
        self.assertNotEqual(
            mine.filtered(lambda c: c.name == copies[0].name).expected_level_a, 2, "copies are edited apart"
        )

    def test_latest_assessment_is_current_and_history_stays(self):
        old = self._assess(self.kam, self.negotiation, 2, days_ago=300)
        middle = self._assess(self.kam, self.negotiation, 3, days_ago=100)
        other_kam = self._assess(self.kam2, self.negotiation, 1, days_ago=200)
        other_competency = self._assess(self.kam, self.crm, 4, days_ago=400)
        self.assertEqual([a.is_current for a in (old, middle, other_kam, other_competency)], [False, True, True, True])
        older_entry = self._assess(self.kam, self.negotiation, 5, days_ago=365)
        self.assertFalse(older_entry.is_current, "recording an old assessment late does not make it current")
        self.assertTrue(middle.is_current)
        latest = self._assess(self.kam, self.negotiation, 4, days_ago=1)
        self.assertEqual([a.is_current for a in (old, middle, older_entry, latest)], [False, False, False, True])
        self.assertEqual(self._gap(self.kam, self.negotiation).current_level, 4)
        latest.unlink()
        self.assertTrue(middle.is_current, "deleting the current one brings back the previous")
        middle.date = self.today_real - timedelta(days=500)
        self.assertTrue(old.is_current, "moving a date moves the current one")
        self.assertFalse(middle.is_current)
        self.assertEqual(
            self.Assessment.search_count([("user_id", "=", self.kam.id), ("competency_id", "=", self.negotiation.id)]),
            3,
        )

    def test_gap_against_the_highest_tier_handled(self):
        big, medium = self._customers(2)
        self._post_invoices([(big, 9000, self.months_ago(1)), (medium, 1000, self.months_ago(1))])
        self._run()
        self.assertEqual((self._row(big).tier, self._row(medium).tier), ("a", "b"))
        self._row(medium).manager_id = self.kam2
        self._assess(self.kam2, self.negotiation, 2)
        gap = self._gap(self.kam2, self.negotiation)
        self.assertEqual((gap.tier, gap.expected_level, gap.current_level, gap.gap), ("b", 3, 2, 1))
        self._row(big).manager_id = self.kam2
        self.env.invalidate_all()
        gap = self._gap(self.kam2, self.negotiation)
        self.assertEqual((gap.tier, gap.expected_level, gap.gap), ("a", 5, 3), "an A account raises the bar")
        never = self._gap(self.kam, self.crm)
        self.assertEqual((never.tier, never.expected_level, never.current_level, never.gap), ("a", 4, 0, 4))
        self.assertFalse(never.is_assessed, "a KAM without accounts is held to tier A; never assessed is the whole gap")
        self._assess(self.kam, self.crm, 5)
        self.env.invalidate_all()
        self.assertEqual(self._gap(self.kam, self.crm).gap, -1, "above the expectation: a negative gap")

    def test_training_needs_are_the_gaps_largest_first(self):
        self._assess(self.kam, self.negotiation, 4)
        self._assess(self.kam, self.crm, 1)
        self._assess(self.kam2, self.negotiation, 5)
        self._assess(self.kam2, self.crm, 2)
        needs = self.Gap.search(
            [
                ("company_id", "=", self.company.id),
                ("gap", ">", 0),
                ("competency_id", "in", (self.negotiation | self.crm).ids),
            ]
        )
        self.assertEqual(
            [(n.user_id, n.competency_id, n.gap) for n in needs],
            [(self.kam, self.crm, 3), (self.kam2, self.crm, 2), (self.kam, self.negotiation, 1)],
        )
        by_category = self.Gap.search(
            [("company_id", "=", self.company.id), ("category", "=", "execution"), ("user_id", "=", self.kam.id)]
        )
        self.assertIn(self.crm, by_category.competency_id)
        self.assertNotIn(self.negotiation, by_category.competency_id)
        self.assertFalse(self.Gap.search([("user_id", "=", self.director.id)]), "directors are not in the matrix")

    def test_training_needs_colour_the_gap_not_the_row(self):
        """The list colours the gap badge alone, and its category column is the competency's category."""
        arch = etree.fromstring(
            self.Gap.get_view(self.env.ref("kam_management.kam_competency_gap_view_list").id)["arch"]
        )
        self.assertFalse([name for name in arch.attrib if name.startswith("decoration-")], "no whole-row colour")
        (gap,) = arch.xpath("//field[@name='gap']")
        self.assertEqual(gap.get("widget"), "badge")
        self.assertTrue({"decoration-danger", "decoration-warning", "decoration-success"} <= set(gap.attrib))
        self._assess(self.kam, self.crm, 1)
        row = self.Gap.search([("user_id", "=", self.kam.id), ("competency_id", "=", self.crm.id)])
        labels = dict(self.Gap._fields["category"]._description_selection(self.env))
        self.assertEqual(labels[row.category], "Tools and execution")
        self.assertEqual(row.category, self.crm.category)

    def test_matrix_shows_the_area_of_each_competency(self):
        """What the matrix list loads for a KAM: the category is the competency's area, never its
        own name again, areas gather several competencies, and the gap is expected minus current."""
        shipped = self.Competency.search([("company_id", "=", self.company.id)]) - self.negotiation - self.crm
        negotiation = shipped.filtered(lambda c: c.category == "commercial")[:1]
        self._assess(self.kam, negotiation, 2)
        view = self.env.ref("kam_management.kam_competency_gap_view_list")
        arch = etree.fromstring(self.Gap.get_view(view.id)["arch"])
        (category,) = arch.xpath("//field[@name='category']")
        self.assertNotEqual(category.get("optional"), "hide", "the category column is shown by default")
        rows = self.Gap.with_user(self.director).web_search_read(
            [("user_id", "=", self.kam.id), ("competency_id", "in", shipped.ids)],
            {
                "competency_id": {"fields": {"display_name": {}}},
                "category": {},
                "expected_level": {},
                "current_level": {},
                "gap": {},
            },
        )["records"]
        self.assertEqual(len(rows), len(shipped))
        labels = dict(self.Gap._fields["category"]._description_selection(self.env))
        for row in rows:
            with self.subTest(competency=row["competency_id"]["display_name"]):
                self.assertNotEqual(labels[row["category"]], row["competency_id"]["display_name"])
                self.assertEqual(row["gap"], row["expected_level"] - (row["current_level"] or 0))
        by_area = {}
        for row in rows:
            by_area.setdefault(labels[row["category"]], []).append(row["competency_id"]["display_name"])
        self.assertEqual(sorted(by_area["Commercial skills"]), ["Negotiation", "Product and market knowledge"])
        self.assertEqual(
            sorted(by_area["Strategy and business acumen"]), ["Financial acumen", "Strategic account planning"]
        )
        (assessed,) = [row for row in rows if row["competency_id"]["id"] == negotiation.id]
        self.assertEqual((assessed["expected_level"], assessed["current_level"], assessed["gap"]), (4, 2, 2))
        # Above the expectation elsewhere does not hide the need: the KAM's group shows the largest gap.
        above = shipped.filtered(lambda c: c.category == "execution")
        self._assess(self.kam, above, 5)
        self.env.invalidate_all()
        self.assertEqual(self._gap(self.kam, above).gap, -1)
        ((user, gap),) = self.Gap._read_group(
            [("user_id", "=", self.kam.id), ("competency_id", "in", (negotiation | above).ids)],
            ["user_id"],
            ["gap:max"],
        )
        self.assertEqual((user, gap), (self.kam, 2))
        groups = self.Gap.web_read_group(
            [("user_id", "=", self.kam.id), ("competency_id", "in", (negotiation | above).ids)],
            ["gap"],
            ["user_id"],
        )["groups"]
        self.assertEqual([g["gap"] for g in groups], [2], "the matrix's group row shows the largest gap")

    def test_upgrade_maps_the_old_categories_to_their_area(self):
        """A database from 18.0.1.0.0 held one category per competency; the upgrade moves each
        competency and its assessments to the area, and an unknown value to "other"."""
        path = file_path("kam_management/migrations/18.0.1.1.0/post-migrate_competency.py")
        spec = importlib.util.spec_from_file_location("kam_post_migrate_competency", path)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        assessment = self._assess(self.kam, self.crm, 2)
        old = {self.negotiation: "negotiation", self.crm: "crm_data"}
        legacy = self.Competency.create({"company_id": self.company.id, "name": "Test legacy", "category": "other"})
        old[legacy] = "leadership"
        self.env.flush_all()
        for competency, value in old.items():
            self.env.cr.execute("UPDATE kam_competency SET category = %s WHERE id = %s", (value, competency.id))
        self.env.cr.execute(
            "UPDATE kam_competency_assessment SET category = 'crm_data' WHERE id = %s", (assessment.id,)
        )
        self.env.invalidate_all()
        script.migrate(self.env.cr, "18.0.1.0.0")
        self.env.invalidate_all()
        self.assertEqual(
            [c.category for c in (self.negotiation, self.crm, legacy)], ["commercial", "execution", "other"]
        )
        self.assertEqual(assessment.category, "execution")
        self.assertEqual(self._gap(self.kam, self.crm).category, "execution")

    def test_bad_input_is_refused(self):
        for vals in ({"level": 0}, {"level": 6}, {"date": self.today_real + timedelta(days=1)}):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                self.Assessment.create(
                    {"user_id": self.kam.id, "competency_id": self.negotiation.id, "level": 3, **vals}
                )
        with self.assertRaises(ValidationError) as catcher:
            self._assess(self.salesman, self.negotiation, 3)
        self.assertIn("cannot be assessed", str(catcher.exception))
        for field in ("expected_level_a", "expected_level_b", "expected_level_c"):
            for value in (0, 6):
                with self.subTest(field=field, value=value), self.assertRaises(ValidationError):
                    self.negotiation.write({field: value})
        self.assertFalse(self.Assessment.search([("competency_id", "=", self.negotiation.id)]))
        self.assertEqual(self.negotiation.expected_level_a, 5)

    def test_a_kam_sees_their_own_assessments_and_directors_everyone(self):
        mine = self._assess(self.kam, self.negotiation, 3, evidence="Closed the framework agreement")
        theirs = self._assess(self.kam2, self.negotiation, 2)
        as_kam = self.Assessment.with_user(self.kam)
        self.assertEqual(as_kam.search([]), mine)
        with self.assertRaises(AccessError):
            theirs.with_user(self.kam).read(["level"])
        with self.assertRaises(AccessError):
            as_kam.create({"user_id": self.kam.id, "competency_id": self.negotiation.id, "level": 5})
        with self.assertRaises(AccessError):
            mine.with_user(self.kam).write({"level": 5})
        self.assertEqual(self.Gap.with_user(self.kam).search([]).user_id, self.kam)
        self.assertTrue(self.Competency.with_user(self.kam).search([]))
        with self.assertRaises(AccessError):
            self.negotiation.with_user(self.kam).write({"expected_level_a": 1})
        as_director = self.Assessment.with_user(self.director)
        self.assertEqual(as_director.search([("competency_id", "=", self.negotiation.id)]), mine | theirs)
        recorded = as_director.create({"user_id": self.kam2.id, "competency_id": self.crm.id, "level": 3})
        self.assertEqual(recorded.assessor_id, self.director)
        self.assertEqual(self.Gap.with_user(self.director).search([]).user_id, self.kam | self.kam2)
        for model in ("kam.competency", "kam.competency.assessment", "kam.competency.gap"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.salesman).search([])

    def test_competencies_of_another_company_are_invisible(self):
        company_2 = self.env["res.company"].create({"name": "Competency other company"})
        self.assertFalse(self.Competency.with_user(self.director).search([("company_id", "=", company_2.id)]))
        self.assertTrue(self.Competency.search([("company_id", "=", company_2.id)]))
