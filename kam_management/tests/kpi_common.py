from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command

from .common import KamCommon


class KpiCommon(KamCommon):
    """Four customers with known figures, snapshotted on ``day`` (the real today).

    The snapshot day is today because opportunities, meetings and messages carry the time
    they are created; invoices and visits are dated relative to it. With 90 / 99 % thresholds:

    - Anchor (A, KAM Mario): revenue 6,000 two months ago + 500 on the 1st of this month,
      8,000 fourteen months ago; all paid; a visit 10 days ago (expenses 50); an open deal of
      1,000 at 50 %, one won (700) and one lost in the last 90 days, one lost long ago; an
      active plan with two objectives, one on track and one off track; reviews scored 6, then 8.
    - Second (A, KAM Mario): 2,000 a month ago, unpaid and 15 days overdue; a message sent to its
      buyer 40 days ago (an internal note 2 days ago does not count as contact).
    - Third (A, no KAM): 1,000 a month ago, paid; a meeting with its buyer 5 days ago.
    - Small (B): 100 a month ago.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"kam_threshold_a": 90.0, "kam_threshold_b": 99.0})
        cls.day = cls.env.cr.now().date()
        cls.Snapshot = cls.env["kam.kpi.snapshot"]
        cls.contact_type = cls.env.ref("kam_management.mail_activity_type_kam_contact")
        cls.health_type = cls.env.ref("kam_management.mail_activity_type_kam_health")
        cls.anchor = cls._customer("Anchor Account")
        cls.second = cls._customer("Second Account")
        cls.third = cls._customer("Third Account")
        cls.small = cls._customer("Small Account")
        Partner = cls.env["res.partner"]
        cls.second_buyer = Partner.create({"name": "Second Buyer", "parent_id": cls.second.id})
        cls.third_buyer = Partner.create({"name": "Third Buyer", "parent_id": cls.third.id})
        day = cls.day
        paid = cls._post_invoices(
            [
                (cls.anchor, 6000, day - relativedelta(months=2)),
                (cls.anchor, 500, day.replace(day=1)),
                (cls.anchor, 8000, day - relativedelta(months=14)),
                (cls.third, 1000, day - relativedelta(months=1)),
            ]
        )
        cls._pay(paid, day)
        overdue = cls._post_invoices([(cls.second, 2000, day - relativedelta(months=1))])
        overdue.button_draft()
        overdue.write({"invoice_payment_term_id": False, "invoice_date_due": day - timedelta(days=15)})
        overdue.action_post()
        cls._post_invoices([(cls.small, 100, day - relativedelta(months=1))])
        cls.Classification._reclassify_company(cls.company, day)
        for partner, manager in ((cls.anchor, cls.kam), (cls.second, cls.kam)):
            partner.with_company(cls.company).kam_manager_id = manager
        # Relationship
        cls.env["kam.visit"].create(
            {
                "partner_id": cls.anchor.id,
                "user_id": cls.kam.id,
                "company_id": cls.company.id,
                "start": datetime.combine(day - timedelta(days=10), time(9)),
                "duration": 1.0,
                "expenses": 50.0,
                "state": "done",
            }
        )
        comment = cls.second_buyer.message_post(
            body="Quarterly prices attached", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        comment.sudo().date = datetime.combine(day - timedelta(days=40), time(11))
        cls.second.message_post(
            body="Internal: check their credit", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        cls.env["calendar.event"].create(
            {
                "name": "Third account meeting",
                "start": datetime.combine(day - timedelta(days=5), time(10)),
                "stop": datetime.combine(day - timedelta(days=5), time(11)),
                "partner_ids": [Command.link(cls.third_buyer.id)],
            }
        )
        # Pipeline
        cls._opportunity(cls.anchor, 1000, probability=50)
        cls._opportunity(cls.anchor, 700, won_on=day - timedelta(days=20))
        cls._opportunity(cls.anchor, 300, lost_on=day - timedelta(days=10))
        cls._opportunity(cls.anchor, 900, lost_on=day - timedelta(days=120))
        # Plan and reviews
        cls.plan = cls._plan(
            cls.anchor, cls.kam, date_start=day - timedelta(days=60), date_end=day + timedelta(days=300)
        )
        cls.env["kam.account.plan.objective"].create(
            [
                {"plan_id": cls.plan.id, "measure": "revenue", "target": 1.0},
                {"plan_id": cls.plan.id, "measure": "visits", "target": 1000.0},
            ]
        )
        cls.plan.action_activate()
        cls.env["kam.account.review"].create(
            [
                {"plan_id": cls.plan.id, "date": day - timedelta(days=100), "satisfaction_score": 6.0},
                {"plan_id": cls.plan.id, "date": day - timedelta(days=3), "satisfaction_score": 8.0},
            ]
        )

    @classmethod
    def _pay(cls, invoices, day):
        cls.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoices.ids).create(
            {"payment_date": day, "group_payment": False}
        )._create_payments()

    @classmethod
    def _opportunity(cls, partner, amount, probability=None, won_on=None, lost_on=None, company=None):
        vals = {
            "name": f"Deal {partner.name} {amount}",
            "type": "opportunity",
            "partner_id": partner.id,
            "expected_revenue": amount,
            "company_id": (company or cls.company).id,
            "user_id": cls.kam.id,
        }
        if probability is not None:
            vals["probability"] = probability
        lead = cls.env["crm.lead"].create(vals)
        if won_on:
            lead.action_set_won()
            lead.date_closed = datetime.combine(won_on, time(12))
        if lost_on:
            lead.action_set_lost()
            lead.date_closed = datetime.combine(lost_on, time(12))
        return lead

    def _take(self, day=None, alerts=True, company=None):
        return self.Snapshot._take_snapshots(company or self.company, day or self.day, alerts=alerts)

    def _snapshot(self, partner, day=None, company=None):
        return self.Snapshot.search(
            [
                ("company_id", "=", (company or self.company).id),
                ("partner_id", "=", partner.id),
                ("date", "=", day or self.day),
            ]
        )

    def _activities(self, partner, activity_type):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", partner.id),
                ("activity_type_id", "=", activity_type.id),
            ]
        )
