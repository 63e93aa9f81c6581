import { Component, onWillStart, useEffect, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { deserializeDate, formatDate } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatFloat } from "@web/core/utils/numbers";

// Bar colours of the tiers (A, B, C), as the tier badges of the lists.
const TIER_COLORS = { a: "#28a745", b: "#17a2b8", c: "#adb5bd" };

// Numbers in the user's language: "1,234" or "1.234", decimals only where they are.
const formatNumber = (value, digits = 0) =>
    formatFloat(value, { digits: [false, digits], trailingZeros: false });

/**
 * The summary above the chart, in plural forms that agree with their counts: its three parts
 * are whole sentences to translate, one per form, since the web client has no plural rules.
 */
export function paretoSummary({ customers, bucket_size, without_revenue }) {
    const charted =
        customers === 1
            ? _t("One customer with revenue")
            : _t("%(count)s customers with revenue", { count: formatNumber(customers) });
    const perBar =
        bucket_size === 1
            ? _t("one per bar")
            : _t("%(count)s per bar", { count: formatNumber(bucket_size) });
    let left;
    if (!without_revenue) {
        left = _t("every classified customer has revenue in the window");
    } else if (without_revenue === 1) {
        left = _t("one classified customer without revenue in the window is not charted");
    } else {
        left = _t("%(count)s classified customers without revenue in the window are not charted", {
            count: formatNumber(without_revenue),
        });
    }
    return _t("%(charted)s, %(per_bar)s; %(left)s.", { charted, per_bar: perBar, left });
}

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
        return paretoSummary(this.state.data);
    }

    /** The window of the figures, in the user's date format. */
    get windowLabel() {
        const data = this.state.data;
        return _t("%(company)s · %(date_from)s – %(date_to)s", {
            company: data.company,
            date_from: formatDate(deserializeDate(data.date_from)),
            date_to: formatDate(deserializeDate(data.date_to)),
        });
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
                    line(
                        data.threshold_a,
                        _t("Tier A line (%(share)s %)", { share: formatNumber(data.threshold_a, 2) }),
                        "#28a745"
                    ),
                    line(
                        data.threshold_b,
                        _t("Tier B line (%(share)s %)", { share: formatNumber(data.threshold_b, 2) }),
                        "#17a2b8"
                    ),
                    {
                        type: "bar",
                        label: _t("Revenue in the window"),
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
                        title: {
                            display: true,
                            text: _t("Revenue (%(currency)s)", { currency: data.currency }),
                        },
                        ticks: { callback: (value) => formatNumber(value) },
                    },
                    share: {
                        type: "linear",
                        position: "right",
                        min: 0,
                        max: 100,
                        grid: { drawOnChartArea: false },
                        title: { display: true, text: _t("Cumulative share of revenue (%)") },
                        ticks: { callback: (value) => formatNumber(value) },
                    },
                    x: { ticks: { autoSkip: true, maxRotation: 60 } },
                },
                plugins: {
                    legend: {
                        position: "bottom",
                        labels: {
                            // The revenue bars are coloured by tier: one legend entry per tier
                            // charted, in place of the bars' single entry.
                            generateLabels: (chart) => {
                                const items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
                                const bars = chart.data.datasets.length - 1;
                                const tiers = ["a", "b", "c"]
                                    .filter((tier) => points.some((point) => (point.tier || "c") === tier))
                                    .map((tier) => ({
                                        text: data.tiers[tier] || tier.toUpperCase(),
                                        fillStyle: TIER_COLORS[tier],
                                        strokeStyle: TIER_COLORS[tier],
                                        lineWidth: 0,
                                        hidden: !chart.isDatasetVisible(bars),
                                        datasetIndex: bars,
                                    }));
                                return items.filter((item) => item.datasetIndex !== bars).concat(tiers);
                            },
                        },
                    },
                    tooltip: {
                        callbacks: {
                            label: (item) =>
                                `${item.dataset.label}: ${formatNumber(item.parsed.y, item.dataset.yAxisID === "share" ? 2 : 0)}`,
                            afterTitle: (items) => {
                                const point = points[items[0].dataIndex];
                                const tier = data.tiers[point.tier] || "";
                                return point.first_rank === point.last_rank
                                    ? _t("Rank %(rank)s · %(tier)s", {
                                          rank: formatNumber(point.first_rank),
                                          tier,
                                      })
                                    : _t("Ranks %(first)s–%(last)s · mostly %(tier)s", {
                                          first: formatNumber(point.first_rank),
                                          last: formatNumber(point.last_rank),
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
