import io
import shutil
import subprocess
import zipfile
from datetime import datetime, time, timedelta

import openpyxl
from dateutil.relativedelta import relativedelta

from odoo import Command, fields

from odoo.addons.mail.tests.common import mail_new_test_user

from .common import KamCommon

# The end of the long texts: found in the PDF's text only if nothing was clipped.
END_MARK = "ENDOFTEXTMARK"
GREEK_CYRILLIC = "Ωμέγα Москва"
LONG_TEXT = ("Разговор о ценах и поставках; Συνάντηση για την τιμολόγηση. " * 45) + END_MARK


def norm(text):
    """Text with its no-break spaces as plain spaces, as pdftotext gives them."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def pdf_text(content):
    """The text of a PDF, as poppler's pdftotext reads it, whitespace collapsed."""
    if not shutil.which("pdftotext"):
        raise AssertionError("pdftotext (poppler-utils) is needed to read the reports back: install poppler-utils.")
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True)
    return norm(result.stdout.decode())


def pdf_pages(content):
    result = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True)
    for line in result.stdout.decode().splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return 0


class ReportsCommon(KamCommon):
    """Accounts of two KAMs with everything a review prints, one with long non-Latin texts, one with nothing.

    - Anchor Industries (A, KAM Mario): invoices this year and last, a visit, an active plan
      with objectives, an open action, a stakeholder and a review; a KPI snapshot today.
    - Ωμέγα Москва Trading … (A, KAM Olga): a long name, a plan whose review and objective
      carry long Greek and Cyrillic texts.
    - Small Shop (tier B or C, no KAM) and Empty Prospect (no figures, not classified).

    Dates are relative to the real today: KPI snapshots and contacts are stamped with it.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"kam_threshold_a": 90.0, "kam_threshold_b": 99.0})
        cls.day = fields.Date.context_today(cls.env["res.partner"])
        cls.other_kam = mail_new_test_user(
            cls.env,
            login="kam_other_reports",
            name="Olga Орлова",
            groups="base.group_user,kam_management.group_kam_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.anchor = cls._customer("Anchor Industries")
        cls.exotic = cls._customer(f"{GREEK_CYRILLIC} Trading " + "Longname " * 8)
        cls.small = cls._customer("Small Shop")
        cls.empty = cls._customer("Empty Prospect")
        cls.buyer = cls.env["res.partner"].create(
            {"name": "Bella Buyer", "parent_id": cls.anchor.id, "function": "Purchasing Manager"}
        )
        cls.exotic_buyer = cls.env["res.partner"].create(
            {"name": "Ζωή Петрова", "parent_id": cls.exotic.id, "function": "Директор"}
        )
        day = cls.day
        cls._post_invoices(
            [
                (cls.anchor, 6000, day - relativedelta(months=2)),
                (cls.anchor, 4000, day - relativedelta(months=5)),
                (cls.anchor, 3000, day - relativedelta(months=14)),
                (cls.exotic, 2500, day - relativedelta(months=1)),
                (cls.small, 100, day - relativedelta(months=1)),
            ]
        )
        cls.Classification._reclassify_company(cls.company, day)
        cls.anchor.with_company(cls.company).kam_manager_id = cls.kam
        cls.exotic.with_company(cls.company).kam_manager_id = cls.other_kam
        Visit = cls.env["kam.visit"]
        Visit.create(
            [
                {
                    "name": "Quarterly steering meeting",
                    "partner_id": cls.anchor.id,
                    "user_id": cls.kam.id,
                    "company_id": cls.company.id,
                    "start": datetime.combine(day - timedelta(days=10), time(9)),
                    "duration": 2.0,
                    "expenses": 40.0,
                    "state": "done",
                },
                {
                    "name": "Встреча в Москве",
                    "partner_id": cls.exotic.id,
                    "user_id": cls.other_kam.id,
                    "company_id": cls.company.id,
                    "start": datetime.combine(day - timedelta(days=20), time(9)),
                    "duration": 1.0,
                    "state": "done",
                },
            ]
        )
        cls.plan = cls._plan(
            cls.anchor, cls.kam, date_start=day - timedelta(days=60), date_end=day + timedelta(days=300)
        )
        cls.env["kam.account.plan.objective"].create(
            [
                {"plan_id": cls.plan.id, "measure": "revenue", "name": "Grow revenue", "target": 20000.0},
                {"plan_id": cls.plan.id, "measure": "visits", "name": "Visit every month", "target": 10.0},
            ]
        )
        cls.env["kam.account.plan.action"].create(
            {
                "plan_id": cls.plan.id,
                "name": "Present the new price list",
                "user_id": cls.kam.id,
                "date_deadline": day + timedelta(days=5),
            }
        )
        cls.env["kam.account.plan.stakeholder"].create(
            {
                "plan_id": cls.plan.id,
                "partner_id": cls.buyer.id,
                "role": "decision_maker",
                "influence": 5,
                "attitude": "supporter",
                "owner_id": cls.kam.id,
            }
        )
        cls.plan.action_activate()
        cls.env["kam.account.review"].create(
            {
                "plan_id": cls.plan.id,
                "date": day - timedelta(days=3),
                "satisfaction_score": 8.0,
                "went_well": "Deliveries on time all quarter",
                "risks": "A competitor quoted lower prices",
                "next_steps": "Send the renewal offer",
            }
        )
        cls.exotic_plan = cls._plan(
            cls.exotic, cls.other_kam, date_start=day - timedelta(days=30), date_end=day + timedelta(days=330)
        )
        cls.env["kam.account.plan.objective"].create(
            {
                "plan_id": cls.exotic_plan.id,
                "measure": "revenue",
                "name": "Увеличить выручку " * 10,
                "target": 5000.0,
            }
        )
        cls.env["kam.account.plan.stakeholder"].create(
            {"plan_id": cls.exotic_plan.id, "partner_id": cls.exotic_buyer.id, "role": "champion"}
        )
        cls.exotic_plan.action_activate()
        cls.env["kam.account.review"].create(
            {
                "plan_id": cls.exotic_plan.id,
                "date": day - timedelta(days=2),
                "satisfaction_score": 6.5,
                "went_well": LONG_TEXT,
                "risks": "Longwordwithoutanyspace" * 12,
                "next_steps": LONG_TEXT,
            }
        )
        cls.env["kam.kpi.snapshot"]._take_snapshots(cls.company, day, alerts=False)
        cls.Report = cls.env["ir.actions.report"]

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def render_pdf(self, report_ref, res_ids, data=None, user=None, lang="en_US"):
        """A real PDF, printed by wkhtmltopdf (the test mode would otherwise return HTML)."""
        report = self.Report.with_context(force_report_rendering=True, lang=lang)
        if user:
            report = report.with_user(user)
        content, kind = report._render_qweb_pdf(report_ref, res_ids, data=data)
        self.assertEqual(kind, "pdf")
        self.assertTrue(content.startswith(b"%PDF"), "wkhtmltopdf printed a PDF")
        return content

    def render_values(self, report_name, res_ids, data=None, user=None, lang="en_US"):
        model = self.env[f"report.{report_name}"].with_context(lang=lang)
        if user:
            model = model.with_user(user)
        return model._get_report_values(res_ids, data=data)

    @staticmethod
    def open_workbook(content):
        return openpyxl.load_workbook(io.BytesIO(content))

    @staticmethod
    def workbook_part(content, name):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.read(name).decode()

    @staticmethod
    def workbook_parts(content):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.namelist()
