import { Component, onWillStart, useEffect, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

// Bar colours of the tiers (A, B, C), as the tier badges of the lists.
const TIER_COLORS = { a: "#28a745", b: "#17a2b8", c: "#adb5bd" };

/**
 * The Pareto chart of the current company: ranked customers (or equal buckets of them) as
 * bars coloured by tier, their cumulative share of revenue as a line, and the tier lines.
 */
export class KamParetoAction extends Component {
    static template = "kam_management.ParetoAction";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.canvasRef = useRef("canvas");
        this.state = useState({ data: null });
        this.chart = null;
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            this.state.data = await this.orm.call("kam.classification", "get_pareto_chart", []);
        });
        useEffect(
            () => {
                this.renderChart();
                return () => this.chart?.destroy();
            },
            () => [this.state.data]
        );
    }

    get summary() {
        const data = this.state.data;
        return _t(
            "%(customers)s customers with revenue, %(per_bar)s per bar; %(none)s classified customers without revenue in the window are not charted.",
            {
                customers: data.customers,
                per_bar: data.bucket_size,
                none: data.without_revenue,
            }
        );
    }

    renderChart() {
        const data = this.state.data;
        if (!data || !data.points.length || !this.canvasRef.el) {
            return;
        }
        const points = data.points;
        const labels = points.map((point) => point.label);
        const line = (value, label, color) => ({
            type: "line",
            label,
            data: points.map(() => value),
            yAxisID: "share",
            borderColor: color,
            borderDash: [6, 4],
            borderWidth: 1,
            pointRadius: 0,
            fill: false,
        });
        this.chart?.destroy();
        this.chart = new Chart(this.canvasRef.el, {
            type: "bar",
            data: {
                labels,
                datasets: [
                    {
                        type: "line",
                        label: _t("Cumulative share of revenue (%)"),
                        data: points.map((point) => point.cumulative_share),
                        yAxisID: "share",
                        borderColor: "#714B67",
                        backgroundColor: "#714B67",
                        pointRadius: points.length > 40 ? 0 : 2,
                        tension: 0,
                    },
                    line(data.threshold_a, _t("Tier A line (%s %)", data.threshold_a), "#28a745"),
                    line(data.threshold_b, _t("Tier B line (%s %)", data.threshold_b), "#17a2b8"),
                    {
                        type: "bar",
                        label: _t("Revenue"),
                        data: points.map((point) => point.revenue),
                        yAxisID: "revenue",
                        backgroundColor: points.map((point) => TIER_COLORS[point.tier] || TIER_COLORS.c),
                    },
                ],
            },
            options: {
                maintainAspectRatio: false,
                animation: false,
                interaction: { mode: "index", intersect: false },
                scales: {
                    revenue: {
                        type: "linear",
                        position: "left",
                        beginAtZero: true,
                        title: { display: true, text: _t("Revenue (%s)", data.currency) },
                    },
                    share: {
                        type: "linear",
                        position: "right",
                        min: 0,
                        max: 100,
                        grid: { drawOnChartArea: false },
                        title: { display: true, text: _t("Cumulative share (%)") },
                    },
                    x: { ticks: { autoSkip: true, maxRotation: 60 } },
                },
                plugins: {
                    legend: { position: "bottom" },
                    tooltip: {
                        callbacks: {
                            afterTitle: (items) => {
                                const point = points[items[0].dataIndex];
                                const tier = data.tiers[point.tier] || "";
                                return point.first_rank === point.last_rank
                                    ? _t("Rank %(rank)s · %(tier)s", { rank: point.first_rank, tier })
                                    : _t("Ranks %(first)s–%(last)s · mostly %(tier)s", {
                                          first: point.first_rank,
                                          last: point.last_rank,
                                          tier,
                                      });
                            },
                        },
                    },
                },
            },
        });
    }

    openCustomers() {
        this.action.doAction("kam_management.kam_classification_action");
    }
}

registry.category("actions").add("kam_management.pareto", KamParetoAction);
