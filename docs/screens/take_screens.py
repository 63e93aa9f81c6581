"""Take the screenshots of the Apps description page from a running demo database.

Usage, from the repository root, with a demo database served (``make demo``)::

    python3 docs/screens/take_screens.py --url http://localhost:8069 --db kam_demo

It logs in as admin / admin, drives headless Chromium through the DevTools protocol
(``websocket-client``), opens each screen at 1440 x 900, waits until Odoo has finished
loading, and saves the PNGs in ``kam_management/static/description/`` reduced to a
256-colour palette so that each stays well under 200 KB.  Look at every one before
publishing it: a login page or an error dialog must never reach the Apps page.
"""

import argparse
import base64
import io
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket
from PIL import Image

WIDTH, HEIGHT = 1440, 900  # px, the browser window
OUT_DIR = Path(__file__).resolve().parents[2] / "kam_management" / "static" / "description"
# Odoo is ready when an action is shown and nothing is loading.  Sample data (what an empty
# view shows) counts as not ready: a screenshot must show real records or fail.
READY_JS = """
(() => {
    const busy = document.querySelector('.o_loading_indicator, .o_blockUI, .o_view_sample_data');
    const view = document.querySelector('.o_action_manager .o_action, .o_action_manager .o_view_controller');
    return Boolean(view) && !busy && document.readyState === 'complete';
})()
"""


class Browser:
    """A headless Chromium with one page, driven through the DevTools protocol."""

    def __init__(self, chromium, port):
        self.profile = tempfile.mkdtemp(prefix="kam-shots-")
        self.proc = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _attempt in range(100):
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=1).json()
                page = next(t for t in targets if t["type"] == "page")
                break
            except (requests.ConnectionError, StopIteration):
                time.sleep(0.2)
        else:
            raise RuntimeError("Chromium did not start")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details.get("text"))
        return result.get("result", {}).get("value")

    def wait_ready(self, timeout=60, settle=1.5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(READY_JS):
                time.sleep(settle)  # charts animate, avatars load
                if self.evaluate(READY_JS):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"page not ready: {self.evaluate('location.href')}")

    def goto(self, url):
        self.send("Page.navigate", url=url)
        time.sleep(1)
        self.wait_ready()

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"{path.name}: {image.size[0]}x{image.size[1]}, {path.stat().st_size // 1024} KB")

    def close(self):
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def login(url, db, user, password):
    """Return an authenticated session cookie and a JSON-RPC caller for finding records."""
    session = requests.Session()
    response = session.post(
        f"{url}/web/session/authenticate",
        json={"jsonrpc": "2.0", "params": {"db": db, "login": user, "password": password}},
        timeout=60,
    )
    response.raise_for_status()
    if not response.json().get("result", {}).get("uid"):
        raise RuntimeError(f"login failed: {response.text[:300]}")

    def call(model, method, *args, **kwargs):
        reply = session.post(
            f"{url}/web/dataset/call_kw",
            json={
                "jsonrpc": "2.0",
                "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
            },
            timeout=60,
        ).json()
        if "error" in reply:
            raise RuntimeError(reply["error"]["data"]["message"])
        return reply["result"]

    return session.cookies["session_id"], call


# What a user does on a screen, as JavaScript run in the page: each step is awaited, then
# the script waits until Odoo has loaded what the step asked for.
STEP_JS = """
(async () => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    // An element of ``selector`` whose text is ``text``, or holds it when ``text`` starts with "~".
    // Waits up to 10 seconds for it to be rendered.
    const find = async (selector, text) => {
        for (let attempt = 0; attempt < 50; attempt++) {
            const found = [...document.querySelectorAll(selector)].find((el) => {
                const content = el.textContent.trim();
                return !text || content === text || (text[0] === "~" && content.includes(text.slice(1)));
            });
            if (found) {
                return found;
            }
            await sleep(200);
        }
        throw new Error(`nothing matches ${selector} ${text || ""}`);
    };
    const click = async (selector, text) => {
        (await find(selector, text)).click();
        await sleep(600);
    };
    %s
})()
"""


def tab(name, scroll=True):
    """Open the notebook page ``name`` of a form; ``scroll`` brings it to the top of the window."""
    return STEP_JS % (
        f"await click('.o_notebook a[name=\"{name}\"]');"
        + ("document.querySelector('.o_notebook').scrollIntoView();" if scroll else "")
    )


def menu(section, item=None):
    """Choose ``item`` in the app's menu ``section``, as a user does from the top bar; without
    ``item``, leave the section's dropdown open (to show the menu itself)."""
    steps = f"await click('.o_menu_sections .dropdown-toggle', {json.dumps(section)});"
    if item:
        steps += f"await click('.o-dropdown--menu .dropdown-item', {json.dumps(item)});"
    return STEP_JS % steps


def top_menu(item):
    """Choose the app's top menu entry ``item`` (an entry without a dropdown, such as Dashboard)."""
    return STEP_JS % f"await click('.o_menu_sections .o_nav_entry', {json.dumps(item)});"


def open_card(text):
    """Open the kanban card that shows ``text``."""
    return STEP_JS % f"await click('.o_kanban_record', {json.dumps('~' + text)});"


def search_options(*labels):
    """Tick filters or group-bys in the search panel, then close it."""
    clicks = "".join(f"await click('.o_search_bar_menu .o_menu_item', {json.dumps(label)});" for label in labels)
    return STEP_JS % (
        f"await click('.o_searchview_dropdown_toggler');{clicks}await click('.o_searchview_dropdown_toggler');"
    )


def shots(call):
    """The screens to take: (file name, path under /odoo, steps run once it is shown)."""
    # The first key account of the ranking, and its current account plan.
    partner_id = call(
        "kam.classification", "search_read", [("tier", "=", "a")], fields=["partner_id"], order="rank", limit=1
    )[0]["partner_id"][0]
    plans = call(
        "kam.account.plan",
        "search_read",
        [("state", "=", "active")],
        fields=["partner_id"],
        order="date_start desc, id desc",
    )
    plan = next((p for p in plans if p["partner_id"][0] == partner_id), plans[0])
    plan_path = f"action-kam_management.kam_account_plan_action/{plan['id']}"
    # The key account in the worst health, for its score and what pulls it down.
    weakest = call(
        "kam.kpi.snapshot",
        "search_read",
        [("is_latest", "=", True)],
        fields=["partner_id"],
        order="health_score, id",
        limit=1,
    )[0]["partner_id"][1]
    # The dashboard, opened from the app's menu as a user opens it.
    dashboard = ("action-kam_management.kam_classification_action", [top_menu("Dashboard")])
    return [
        ("kam_classified_customers.png", "action-kam_management.kam_classification_action", []),
        ("kam_pareto.png", "action-kam_management.kam_classification_action_pareto_chart", []),
        ("kam_partner_key_account.png", f"action-base.action_partner_form/{partner_id}", [tab("key_account")]),
        ("kam_account_plan.png", plan_path, []),
        ("kam_account_plan_objectives.png", plan_path, [tab("objectives", scroll=False)]),
        ("kam_kpi_dashboard.png", dashboard[0], dashboard[1]),
        ("kam_kpi_health.png", dashboard[0], [*dashboard[1], open_card(weakest)]),
        (
            "kam_cost_to_serve.png",
            "action-kam_management.kam_account_fact_action",
            [search_options("Key accounts", "Customer")],
        ),
        ("kam_contribution.png", "action-kam_management.kam_classification_action_cost", []),
        ("kam_portfolio.png", "action-kam_management.kam_portfolio_action", []),
        ("kam_settings.png", "action-kam_management.kam_settings_action", []),
        ("kam_reports.png", "action-kam_management.kam_classification_action", [menu("Reporting", "Print reports")]),
    ]


DOCS_DIR = Path(__file__).resolve().parent


def spanish_shots(call):
    """The screens of docs/screens/, as the demo's Spanish director sees them."""
    key_accounts = "action-kam_management.kam_classification_action"
    return [
        ("es_menu_reporting.png", key_accounts, [menu("Informes")]),
        ("es_menu_team.png", key_accounts, [menu("Equipo")]),
        ("es_menu_configuration.png", key_accounts, [menu("Configuración")]),
        ("es_pareto.png", "action-kam_management.kam_classification_action_pareto_chart", []),
        ("es_competency_matrix.png", "action-kam_management.kam_competency_gap_action_matrix", []),
    ]


def first_pdf_page(url, session_id, call, out):
    """Print the Key Account Review of the first key account and keep its first page as PNG."""
    partner_id = call(
        "kam.classification", "search_read", [("tier", "=", "a")], fields=["partner_id"], order="rank", limit=1
    )[0]["partner_id"][0]
    response = requests.get(
        f"{url}/report/pdf/kam_management.report_kam_account_review/{partner_id}",
        cookies={"session_id": session_id},
        timeout=300,
    )
    response.raise_for_status()
    if not response.content.startswith(b"%PDF"):
        raise RuntimeError("the report did not return a PDF")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "review.pdf"
        pdf.write_bytes(response.content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", pdf, Path(tmp) / "page"], check=True
        )
        save_png(Path(tmp) / "page.png", out)


def save_png(source, out):
    """Save ``source`` as a 256-colour PNG at ``out``."""
    image = Image.open(source).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    print(f"{out.name}: {image.size[0]}x{image.size[1]}, {out.stat().st_size // 1024} KB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="kam_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("google-chrome"))
    parser.add_argument("--debug-port", type=int, default=9333)
    parser.add_argument("--only", nargs="*", help="file names of the screens to take again")
    parser.add_argument(
        "--spanish",
        action="store_true",
        help="the screens of docs/screens/ as the demo's Spanish director (login elena)",
    )
    args = parser.parse_args()
    if args.spanish:
        args.login = args.password = "elena"

    session_id, call = login(args.url, args.db, args.login, args.password)
    browser = Browser(args.chromium, args.debug_port)
    try:
        host = args.url.split("://", 1)[1].split("/", 1)[0].split(":")[0]
        browser.send("Network.enable")
        browser.send("Network.setCookie", name="session_id", value=session_id, domain=host, path="/", httpOnly=True)
        out_dir, todo = (DOCS_DIR, spanish_shots(call)) if args.spanish else (OUT_DIR, shots(call))
        for name, path, steps in todo:
            if args.only and name not in args.only:
                continue
            browser.goto(f"{args.url}/odoo/{path}")
            for step in steps:
                browser.evaluate(step)
                browser.wait_ready()
            browser.screenshot(out_dir / name)
        if args.spanish and (not args.only or "es_account_review_page1.png" in args.only):
            first_pdf_page(args.url, session_id, call, DOCS_DIR / "es_account_review_page1.png")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
