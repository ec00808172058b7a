"""The dashboard in a real browser (Debian's chromium via selenium + chromedriver).

Loads the page at 1366×768, moves a lever and a tier, and holds the point value and a
hospital's final amount shown to what ``payment.settle`` computes, to the cent; exports the
scenario and runs it through the simulate pipeline; checks the drill-down (statement, a what-if
lever moving it, the supervision signals), the comparison, the
Monte Carlo bands, the English switch and that the console has no errors. Screenshots of each
view go to tests/artifacts/ (gitignored). Skips when chromium is absent, unless CI is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

_missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
try:
    import selenium  # noqa: F401
except ImportError:
    _missing.append("the selenium package")
if _missing and not CI:
    pytest.skip(f"browser tests need {', '.join(_missing)} (apt-get install chromium "
                "chromium-driver; pip install -e '.[dev]'); CI=true makes this an error",
                allow_module_level=True)
if _missing:
    raise RuntimeError(f"CI is set but {', '.join(_missing)} is missing")

import numpy as np  # noqa: E402
import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import payment  # noqa: E402
from drgsim.dashboard import Dashboard, create_app, scenario_from_args  # noqa: E402
from drgsim.pipeline import simulate_scenario  # noqa: E402
from payment.overrides import override_policy  # noqa: E402
from payment.scenario import load_scenario  # noqa: E402
from payment.settlement import encode  # noqa: E402
from payment.whatif import WHATIF_KEYS, run_whatifs  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dash() -> Dashboard:
    from drgsim.dashboard.cashflow import load_cashflow_view
    from drgsim.dashboard.patients import load_patients

    patients, _ = load_patients(None, None, demo=True)
    cash, _ = load_cashflow_view(None, demo=True)
    return Dashboard(scenario_from_args(None, None, None), patients=patients, cashflow=cash)


@pytest.fixture(scope="module")
def server(dash: Dashboard):
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(dash), host="127.0.0.1", port=port,
                                        log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1366,768", "--lang=zh-CN"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_window_size(1366, 768)
    ARTIFACTS.mkdir(exist_ok=True)
    yield drv
    drv.quit()


def _wait(drv, cond, timeout: float = 20.0):
    return WebDriverWait(drv, timeout).until(cond)


def _value(drv, el_id: str) -> str | None:
    els = drv.find_elements(By.ID, el_id)
    return els[0].get_attribute("data-value") if els else None


def _set(drv, el_id: str, text: str) -> None:
    el = drv.find_element(By.ID, el_id)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(text, Keys.TAB)  # leaving the field fires `change`


def _errors(drv) -> list[dict]:
    return [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def test_dashboard_in_chromium(server: str, browser, dash: Dashboard, tmp_path) -> None:
    drv = browser
    drv.get(server + "/")
    _wait(drv, lambda d: _value(d, "pv") not in (None, ""))
    base_pv = _value(drv, "pv")
    assert drv.find_element(By.ID, "tab-overview").text == "总览"  # Chinese by default
    base = payment.settle(dash.base.priced, dash.base_policy)
    assert float(base_pv) == base.summary["point_value"]
    drv.save_screenshot(str(ARTIFACTS / "dashboard_overview.png"))
    # Patients' levers: a higher level-3 deductible for residents raises level 3's out-of-pocket.
    oop3 = float(_value(drv, "pt-oop-3"))
    _set(drv, "lv-benefits-deductible-resident-3", "1500")
    _wait(drv, lambda d: _value(d, "pt-oop-3") not in (None, str(oop3)))
    assert float(_value(drv, "pt-oop-3")) > oop3
    _set(drv, "lv-benefits-deductible-resident-3", Keys.DELETE)  # blank = the base value
    _wait(drv, lambda d: _value(d, "pt-oop-3") == str(oop3) or
          float(_value(d, "pt-oop-3") or 0) == oop3)

    # A settlement lever (keyboard: select, type, Tab) and a tier share.
    _set(drv, "lv-settlement-reserve_rate", "0.04")
    _wait(drv, lambda d: _value(d, "pv") != base_pv)
    final_before = _value(drv, "final_amount-H001")
    _set(drv, "tier-1-share", "0.4")  # H001 saves 5.7 %: the (−15 %, 0] slice moves its amount
    _wait(drv, lambda d: _value(d, "final_amount-H001") != final_before)
    _wait(drv, lambda d: "ms" in d.find_element(By.ID, "status").text)
    tiers = [{"lower": float("-inf"), "upper": -0.15, "fund_share": 1.0},
             {"lower": -0.15, "upper": 0.0, "fund_share": 0.4},
             {"lower": 0.0, "upper": 0.1, "fund_share": 0.7},
             {"lower": 0.1, "upper": 0.2, "fund_share": 0.3}]
    pol = override_policy(dash.base_policy, {"settlement.reserve_rate": 0.04,
                                             "settlement.tiers": tiers})
    res = payment.settle(dash.base.priced, pol)
    pv = res.summary["point_value"]
    assert float(_value(drv, "pv")) == pv
    assert drv.find_element(By.ID, "pv").text == f"{pv:.4f}"
    st = res.statement.set_index(res.statement["hospital_id"].astype(str))
    final = float(st.loc["H001", "final_amount"])
    cell = drv.find_element(By.ID, "final_amount-H001")
    assert round(float(cell.get_attribute("data-value")) * 100) == round(final * 100)
    assert cell.text == f"{final:,.2f}"
    drv.save_screenshot(str(ARTIFACTS / "dashboard_lever_moved.png"))

    # Drill-down: H001's statement at the same levers.
    drv.find_element(By.ID, "tab-hospital").click()
    _wait(drv, lambda d: _value(d, "st-final_amount") not in (None, ""))
    assert round(float(_value(drv, "st-final_amount")) * 100) == round(final * 100)
    assert round(float(_value(drv, "st-clearing")) * 100) == round(
        float(st.loc["H001", "clearing"]) * 100)
    # its supervision signals: one row per signal, the numbers the API gives (payment's, see
    # test_dashboard_supervision), Chinese signal names, the flagged cases listed
    sup = dash.supervision().hospital("H001")
    _wait(drv, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#signals tr")) == 1 + len(
        sup["signals"]))
    for r in sup["signals"]:
        assert float(_value(drv, f"sig-{r['signal']}-value")) == r["value"]
        assert float(_value(drv, f"sig-{r['signal']}-score")) == r["score"]
    assert "分解住院" in drv.find_element(By.ID, "signals").text
    assert int(_value(drv, "sig-total")) == sup["flagged_cases"] > 0
    assert sup["cases"][0]["case_id"] in drv.find_element(By.ID, "signal-cases").text
    drv.save_screenshot(str(ARTIFACTS / "dashboard_hospital.png"))
    drv.execute_script("document.getElementById('signals').scrollIntoView()")
    drv.save_screenshot(str(ARTIFACTS / "dashboard_hospital_signals.png"))
    drv.execute_script("window.scrollTo(0, 0)")
    # a what-if lever moves the statement shown (the what-if settlement), and the page says so
    result_before = _value(drv, "st-result")
    _set(drv, "lv-whatif-volume_growth", "0.05")
    _wait(drv, lambda d: _value(d, "st-result") != result_before)
    cells = dash.base.cells
    w = np.zeros((1, max(WHATIF_KEYS.values()) + 1))
    w[0, WHATIF_KEYS["whatif.volume_growth"]] = 0.05
    _, wres = run_whatifs(cells, encode(cells.inputs, pol), w)
    i = [str(h) for h in cells.inputs.hospital_ids].index("H001")
    assert round(float(_value(drv, "st-result")) * 100) == round(float(wres[0][i]) * 100)
    assert drv.find_element(By.ID, "st-note").is_displayed()
    drv.execute_script("document.getElementById('st-note').scrollIntoView()")
    drv.save_screenshot(str(ARTIFACTS / "dashboard_hospital_whatif.png"))
    _set(drv, "lv-whatif-volume_growth", Keys.DELETE)  # blank = the base value
    _wait(drv, lambda d: _value(d, "st-result") == result_before)
    assert not drv.find_element(By.ID, "st-note").is_displayed()

    # Scenarios: save the baseline and this setting, compare, export.
    drv.find_element(By.ID, "tab-scenarios").click()
    _set(drv, "scenario-name", "browser")
    drv.find_element(By.ID, "save").click()
    _wait(drv, lambda d: "browser" in d.find_element(By.ID, "saved").text)
    dash.saved["基准"] = type(dash.saved["browser"]).parse({})
    drv.find_element(By.ID, "tab-overview").click()
    drv.find_element(By.ID, "tab-scenarios").click()
    _wait(drv, lambda d: "基准" in d.find_element(By.ID, "saved").text)
    from selenium.webdriver.support.ui import Select

    Select(drv.find_element(By.ID, "cmp-a")).select_by_visible_text("基准")
    Select(drv.find_element(By.ID, "cmp-b")).select_by_visible_text("browser")
    drv.find_element(By.ID, "compare").click()
    _wait(drv, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cmp-hospitals tr")) > 10)
    assert f"{pv:.4f}" in drv.find_element(By.ID, "cmp-summary").text
    drv.save_screenshot(str(ARTIFACTS / "dashboard_scenarios.png"))
    link = drv.find_element(By.LINK_TEXT, "TOML").get_attribute("href")
    assert link.startswith(server)
    toml_path = tmp_path / "browser.toml"
    toml_path.write_bytes(urllib.request.urlopen(link, timeout=30).read())
    sim = simulate_scenario(load_scenario(toml_path))
    assert sim.baseline.summary["point_value"] == pv
    sst = sim.baseline.statement.set_index(sim.baseline.statement["hospital_id"].astype(str))
    assert round(float(sst.loc["H001", "final_amount"]) * 100) == round(final * 100)

    # Monte Carlo bands.
    drv.find_element(By.ID, "tab-mc").click()
    _set(drv, "mc-draws", "200")
    drv.find_element(By.ID, "mc-run").click()
    _wait(drv, lambda d: d.find_elements(By.ID, "mc-pv-p50"))
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-mc-bands .bars"))
    drv.save_screenshot(str(ARTIFACTS / "dashboard_monte_carlo.png"))

    # English switch.
    drv.find_element(By.ID, "lang").click()
    drv.find_element(By.ID, "tab-overview").click()
    _wait(drv, lambda d: d.find_element(By.ID, "tab-overview").text == "Overview")
    assert drv.find_element(By.CSS_SELECTOR, "label[for=lv-settlement-reserve_rate]").text == \
        "Reserve rate"
    assert float(_value(drv, "pv")) == pv
    drv.save_screenshot(str(ARTIFACTS / "dashboard_english.png"))

    # Every form control has a label; no horizontal scrolling at 1366×768.
    unlabelled = drv.execute_script(
        "return [...document.querySelectorAll('input,select')].filter(e => !e.labels?.length"
        " && !e.getAttribute('aria-label')).map(e => e.id)")
    assert unlabelled == []
    assert drv.execute_script("return document.documentElement.scrollWidth") <= 1366
    assert _errors(drv) == []


def test_cashflow_view_in_chromium(server: str, browser, dash: Dashboard) -> None:
    """The cash-flow view renders its charts and ledger, moves with k and the recovery rule
    (a month held to payment.cashflow.run_fund to the cent), with no console errors."""
    from selenium.webdriver.support.ui import Select

    from payment.cashflow import run_fund

    drv = browser
    drv.get(server + "/")
    _wait(drv, lambda d: _value(d, "pv") not in (None, ""))
    drv.find_element(By.ID, "tab-cashflow").click()
    _wait(drv, lambda d: _value(d, "cf-closing-1") not in (None, ""))
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-cf-fund .bars"))
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-cf-cash .scatterlayer .trace"))
    assert drv.find_element(By.ID, "tab-cashflow").text == "现金流"
    _set(drv, "cf-prepayment_months", "2")
    Select(drv.find_element(By.ID, "cf-recovery")).select_by_value("monthly")
    view = dash.cashflow
    fi = next(iter(view.inputs.values()))
    fl = run_fund(fi, view.cs.cashflow, year=view.cs.scenario.year, prepayment_months=2.0,
                  recovery="monthly")
    want = round(float(fl.ledger["closing"].iloc[2]) * 100)
    _wait(drv, lambda d: round(float(_value(d, "cf-closing-3") or "nan") * 100) == want
          if _value(d, "cf-closing-3") else False)
    dd = round(float(fl.ledger["deductions"].iloc[0]) * 100)
    assert round(float(_value(drv, "cf-deductions-1")) * 100) == dd > 0
    drv.save_screenshot(str(ARTIFACTS / "dashboard_cashflow.png"))
    drv.find_element(By.ID, "lang").click()
    _wait(drv, lambda d: d.find_element(By.ID, "tab-cashflow").text == "Cash flow")
    assert "months of reserve" in drv.find_element(By.ID, "cf-ledger").text
    drv.save_screenshot(str(ARTIFACTS / "dashboard_cashflow_english.png"))
    unlabelled = drv.execute_script(
        "return [...document.querySelectorAll('#view-cashflow input,#view-cashflow select')]"
        ".filter(e => !e.labels?.length && !e.getAttribute('aria-label')).map(e => e.id)")
    assert unlabelled == []
    assert _errors(drv) == []
