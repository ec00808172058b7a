/* drgsim planner's dashboard: levers -> /api/answer -> cards, ledger, chart, tables. */
"use strict";

const T = {
  title: ["drgsim 规划看板", "drgsim planner's dashboard"],
  overview: ["总览", "Overview"], hospital: ["医院明细", "Hospital"],
  scenarios: ["情景", "Scenarios"], mc: ["蒙特卡洛", "Monte Carlo"],
  reset: ["恢复基准", "Reset to baseline"], ledger: ["基金台账", "Fund ledger"],
  hospitals: ["各医院清算", "Hospitals"], pick_hospital: ["选择医院", "Hospital"],
  statement: ["医院清算单", "Statement"], mix: ["病例类型构成", "Case-class mix"],
  scenario_name: ["情景名称", "Scenario name"], save: ["保存当前参数", "Save current levers"],
  saved: ["已保存情景", "Saved scenarios"], compare: ["并排比较", "Compare side by side"],
  draws: ["抽样次数", "Draws"], seed: ["随机种子", "Seed"], mc_run: ["运行蒙特卡洛", "Run Monte Carlo"],
  mc_note: ["病例数、费用、高套和下沉按情景文件的分布抽样；带状图为各医院结余(+)/超支(−)的 P5–P95 与 P25–P75。",
            "Volume, cost, upcoding and level shift are drawn from the scenario's distributions; bands are each hospital's surplus (+) / overspend (−), P5–P95 and P25–P75."],
  point_value: ["结算点值（元/点）", "Point value (yuan/point)"],
  fund_balance: ["基金结余（元）", "Fund balance (yuan)"],
  paid: ["支付医院合计（元）", "Paid to hospitals (yuan)"],
  counts: ["结余 / 超支医院数", "Hospitals in surplus / overspent"],
  timing: ["响应时间", "Response time"],
  path_settlement: ["仅结算", "settlement only"], path_whatif: ["情景假设", "what-if cells"],
  path_repricing: ["重新计价", "re-pricing"],
  result_chart: ["各医院结余(+)/超支(−)：年度清算应付 − 按项目统筹支付（元）",
                 "Surplus (+) / overspend (−): final amount − fee-for-service fund amount (yuan)"],
  whatif_chart: ["情景假设下各医院结余(+)/超支(−)（元）", "Surplus (+) / overspend (−) under the what-ifs (yuan)"],
  advances_chart: ["月度预拨（元）", "Monthly advances (yuan)"],
  tiers: ["分段（下限、上限、基金分担比例）", "Tiers (lower, upper, fund share)"],
  lower: ["下限", "lower"], upper: ["上限", "upper"], share: ["基金分担", "fund share"],
  add_tier: ["增加分段", "Add tier"], del: ["删除", "Delete"],
  no_reprice: ["仅有已计价病例：此组参数不可用", "priced cases only: these levers need raw cases"],
  computing: ["计算中…", "computing…"], saved_ok: ["已保存", "saved"],
  name: ["名称", "name"], download: ["下载", "download"], unit: ["单位", "unit"],
  groups: ["病组盈亏（按结算点值；前8亏损与前8盈余）", "DRGs by profit and loss (settlement point value; 8 largest losses and gains)"],
  g_group: ["病组", "group"], g_cases: ["病例数", "cases"], g_points: ["点数", "points"],
  g_amount: ["点数×点值（元）", "points × PV (yuan)"], g_total_cost: ["医疗总费用（元）", "total cost (yuan)"],
  g_gain: ["盈亏（元）", "gain (yuan)"],
  mc_done: ["次抽样，种子", "draws, seed"],
  mc_pv: ["结算点值分布", "Point value over draws"], mc_bands: ["各医院结果区间（元）", "Hospital result bands (yuan)"],
  patients_h: ["患者负担与各层支付（按医院等级）", "Patients' out-of-pocket and each layer's outlay (by hospital level)"],
  whatif_note: ["注：台账与各医院清算单按情景假设计算；“基准盈亏”为无情景假设时的金额。",
                "Note: the ledger and each hospital's statement follow the what-ifs; \"baseline result\" is at no what-if."],
  base_result: ["基准盈亏（无情景假设，元）", "Baseline result (no what-if, yuan)"],
};
Object.assign(T, {
  cashflow: ["现金流", "Cash flow"], cf_fund: ["基金", "Fund"], cf_ledger: ["基金月度收支", "Fund ledger by month"],
  cf_balance: ["期末余额（元）", "Closing balance (yuan)"], cf_mor: ["可支付月数", "Months of reserve"],
  cf_alert: ["预警线", "Alert line"], cf_fund_title: ["月度期末余额与可支付月数", "Closing balance and months of reserve by month"],
  cf_cash_title: ["医院资金头寸：累计到账 − 累计应得（元）", "Hospitals' cash position: cumulative received − entitlement (yuan)"],
  cf_lowest: ["最低可支付月数", "Lowest months of reserve"], cf_prepay: ["预付金合计（元）", "Prepayment (yuan)"],
  cf_eligible: ["可预付", "Prepayment allowed"], cf_alerts: ["预警", "Alerts"], yes: ["是", "yes"], no: ["否", "no"],
  at_clearing: ["年终清算时扣回", "at the clearing"], monthly: ["按月等额扣回", "monthly deductions"], rollover: ["滚动至下年", "rolled over"],
  cf_none: ["未提供现金流情景（--cashflow）", "no cash-flow scenario (--cashflow)"],
});
Object.assign(T, {
  supervision: ["智能监管疑点（不随参数变化）", "Supervision signals (no lever moves them)"],
  sup_cases: ["疑点病例（每类疑点至多10例，疑点类型按得分排序）", "Flagged cases (up to 10 per signal, signals by score)"],
  sup_unavailable: ["无法计算", "unavailable"], sup_computing: ["监管疑点计算中…", "computing the supervision signals…"],
  st_whatif: ["清算单与月度预拨按情景假设计算；病例类型构成与病组盈亏为基准病例、基准点值（情景假设只改变汇总，不改变病例明细）。",
              "The statement and advances follow the what-ifs; the case-class mix and the DRGs by profit and loss are the baseline cases at the baseline point value (what-ifs move the aggregates, not the cases)."],
  sup_total: ["疑点病例合计", "flagged cases in all"], sup_none: ["本院无疑点病例", "no flagged case at this hospital"],
  sup_note: ["得分 = (本院值 − 同级中位数) ÷ max(1.4826 × MAD, 下限)，越高越可疑；得分 ≥ 阈值且病例数达标为疑点。",
             "Score = (value − level median) ÷ max(1.4826 × MAD, floor), higher is more suspicious; flagged at score ≥ the threshold with enough cases."],
});
const CF = { levers: null, answer: null, timer: null, seq: 0 };
const CFG = { displayModeBar: false, responsive: true };
const S = { meta: null, lang: "zh", levers: {}, tiers: null, tiersDirty: false, answer: null,
            hospital: null, timer: null, seq: 0, sup: {} };

const $ = (id) => document.getElementById(id);
const t = (k) => (T[k] ? T[k][S.lang === "zh" ? 0 : 1] : k);
const yuan = (x) => (x === null || x === undefined ? "" : Number(x).toLocaleString("en-US",
  { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const pv = (x) => (x === null || x === undefined ? "" : Number(x).toFixed(4));
function col(c) {
  const l = S.meta.columns[c];
  return l ? l[S.lang === "zh" ? 0 : 1] : c;
}
function kind(c) { const l = S.meta.columns[c]; return l ? l[2] : "text"; }
function fmt(c, v) {
  if (v === null || v === undefined) return "";
  const k = kind(c);
  if (typeof v !== "number") return String(v);
  if (k === "yuan") return yuan(v);
  if (k === "pv") return pv(v);
  if (k === "ratio") return (v * 100).toFixed(2) + "%";
  if (k === "index" || k === "points") return v.toLocaleString("en-US", { maximumFractionDigits: 4 });
  return String(v);
}
function phrase(p) { return S.lang === "zh" ? (S.meta.phrases[p] || p) : p; }
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

async function api(method, url, body) {
  const r = await fetch(url, { method, headers: { "Content-Type": "application/json" },
                               body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail ? JSON.stringify(data.detail) : r.statusText);
  return data;
}
function status(msg, error) { const s = $("status"); s.textContent = msg; s.className = error ? "error" : ""; }

/* ---------------------------------------------------------------- levers */

function body() {
  const levers = {};
  for (const lv of S.meta.levers) {
    const v = S.levers[lv.key];
    if (v === null || v === undefined || v === "") continue;
    if (v !== S.meta.base[lv.key]) levers[lv.key] = v;
  }
  const b = { levers };
  if (S.tiersDirty) b.tiers = S.tiers.map((r) => r.map(String));
  return b;
}

function buildLevers() {
  const form = $("lever-form");
  form.innerHTML = "";
  for (const [gid, zh, en] of S.meta.groups) {
    const fs = document.createElement("fieldset");
    const lg = document.createElement("legend");
    lg.textContent = S.lang === "zh" ? zh : en;
    fs.appendChild(lg);
    for (const lv of S.meta.levers.filter((x) => x.group === gid)) fs.appendChild(leverRow(lv));
    if (gid === "tiers") fs.appendChild(tierTable());
    if (gid === "patients" && !S.meta.patients) {
      const p = document.createElement("p"); p.className = "unit"; p.textContent = S.meta.patients_note; fs.appendChild(p);
    }
    if (gid === "pricing" && !S.meta.can_reprice) {
      const p = document.createElement("p"); p.className = "unit"; p.textContent = t("no_reprice"); fs.appendChild(p);
    }
    form.appendChild(fs);
  }
}

function leverRow(lv) {
  const div = document.createElement("div");
  div.className = "lever";
  const id = "lv-" + lv.key.replace(/\./g, "-");
  const lab = document.createElement("label");
  lab.htmlFor = id;
  lab.textContent = S.lang === "zh" ? lv.zh : lv.en;
  let ctl;
  if (lv.options.length) {
    ctl = document.createElement("select");
    for (const o of lv.options) {
      const opt = document.createElement("option"); opt.value = o; opt.textContent = o; ctl.appendChild(opt);
    }
    ctl.value = S.levers[lv.key];
  } else {
    ctl = document.createElement("input");
    ctl.type = "number";
    if (lv.min !== null) ctl.min = lv.min;
    if (lv.max !== null) ctl.max = lv.max;
    if (lv.step !== null) ctl.step = lv.step;
    const v = S.levers[lv.key];
    ctl.value = v === null || v === undefined ? "" : v;
  }
  ctl.id = id;
  ctl.dataset.key = lv.key;
  const unit = document.createElement("span");
  unit.className = "unit";
  unit.id = id + "-unit";
  const u = S.lang === "zh" ? lv.unit_zh : lv.unit_en;
  unit.textContent = (u ? u + "；" : "") + (lv.options.length ? lv.options.join(" / ")
    : `${lv.min} – ${lv.max}`);
  ctl.setAttribute("aria-describedby", unit.id);
  if ((lv.kind === "pricing" && !S.meta.can_reprice) || (lv.kind === "benefit" && !S.meta.patients)) {
    ctl.disabled = true; div.classList.add("disabled");
  }
  ctl.addEventListener("change", () => {
    if (lv.options.length) S.levers[lv.key] = ctl.value;
    else if (ctl.value === "") S.levers[lv.key] = S.meta.base[lv.key];
    else {
      const x = Number(ctl.value);
      if ((lv.min !== null && x < lv.min) || (lv.max !== null && x > lv.max)) {
        status(`${lab.textContent}: ${lv.min} – ${lv.max}`, true); ctl.setAttribute("aria-invalid", "true"); return;
      }
      ctl.removeAttribute("aria-invalid");
      S.levers[lv.key] = x;
    }
    schedule();
  });
  div.append(lab, ctl, unit);
  return div;
}

function tierTable() {
  const wrap = document.createElement("div");
  const cap = document.createElement("div"); cap.className = "unit"; cap.textContent = t("tiers");
  const tbl = document.createElement("table"); tbl.className = "tiers"; tbl.id = "tier-table";
  tbl.innerHTML = `<tr><th>${t("lower")}</th><th>${t("upper")}</th><th>${t("share")}</th><th></th></tr>`;
  S.tiers.forEach((row, i) => {
    const tr = document.createElement("tr");
    ["lower", "upper", "share"].forEach((name, j) => {
      const td = document.createElement("td");
      const inp = document.createElement("input");
      inp.type = "text"; inp.inputMode = "decimal"; inp.value = row[j]; inp.id = `tier-${i}-${name}`;
      inp.setAttribute("aria-label", `${t(name)} ${i + 1}`);
      inp.addEventListener("change", () => {
        const v = inp.value.trim();
        if (!/^-?(inf|\d+(\.\d+)?|\.\d+)$/.test(v)) { status(`${t(name)} ${i + 1}: -inf, inf ${S.lang === "zh" ? "或数字" : "or a number"}`, true); return; }
        S.tiers[i][j] = v; S.tiersDirty = true; schedule();
      });
      td.appendChild(inp); tr.appendChild(td);
    });
    const td = document.createElement("td");
    const del = document.createElement("button"); del.type = "button"; del.textContent = "×";
    del.setAttribute("aria-label", `${t("del")} ${i + 1}`);
    del.addEventListener("click", () => { S.tiers.splice(i, 1); S.tiersDirty = true; buildLevers(); schedule(); });
    td.appendChild(del); tr.appendChild(td); tbl.appendChild(tr);
  });
  const add = document.createElement("button"); add.type = "button"; add.id = "tier-add"; add.textContent = t("add_tier");
  add.addEventListener("click", () => { S.tiers.push(["0", "0.1", "0.5"]); S.tiersDirty = true; buildLevers(); schedule(); });
  wrap.append(cap, tbl, add);
  return wrap;
}

function schedule() { clearTimeout(S.timer); S.timer = setTimeout(refresh, 120); }

/* ---------------------------------------------------------------- answers */

async function refresh() {
  const seq = ++S.seq;
  status(t("computing"));
  try {
    const a = await api("POST", "/api/answer", body());
    if (seq !== S.seq) return;
    S.answer = a;
    render();
    status(`${t("timing")}: ${a.elapsed_ms} ms (${t("path_" + a.path)})`);
    if (!$("view-hospital").hidden) loadHospital();
  } catch (e) { status(e.message, true); }
}

function card(id, label, text, value) {
  return `<div class="card"><div class="k">${esc(label)}</div><div class="v" id="${id}" data-value="${value}">${esc(text)}</div></div>`;
}

function render() {
  const a = S.answer; if (!a) return;
  const s = a.whatif_summary || a.summary;
  $("cards").innerHTML =
    card("pv", t("point_value"), pv(s.point_value), s.point_value) +
    card("fund-balance", t("fund_balance"), yuan(s.fund_balance), s.fund_balance) +
    card("paid", t("paid"), yuan(s.paid), s.paid) +
    card("counts", t("counts"), `${s.hospitals_surplus} / ${s.hospitals_overspend}`, `${s.hospitals_surplus}/${s.hospitals_overspend}`) +
    card("elapsed", t("timing"), `${a.elapsed_ms} ms`, a.elapsed_ms);
  $("ledger").innerHTML = `<tr><th>${col("item")}</th><th>${col("yuan")}</th></tr>` + a.ledger.map((r) =>
    `<tr><td>${esc(phrase(r.item))}</td><td class="num">${yuan(r.yuan)}</td></tr>`).join("") +
    (a.whatif_summary ? `<tr><td colspan="2">${esc(t("whatif_note"))}</td></tr>` : "");
  const cols = ["hospital_id", "level", "cases", "ffs_amount", "entitlement", "final_amount", "result"];
  if (a.whatif_summary) cols.push("base_result");
  const head = cols.map((c) => `<th>${esc(c === "level" ? col("hospital_level") : c === "base_result" ? t("base_result") : col(c))}</th>`).join("");
  $("hospitals").innerHTML = `<tr>${head}</tr>` + a.hospitals.map((h) => `<tr>` + cols.map((c) => {
    const v = h[c];
    if (c === "hospital_id" || c === "level" || c === "cases") return `<td>${esc(v)}</td>`;
    const cls = c.endsWith("result") ? (v < 0 ? "num neg" : "num pos") : "num";
    return `<td class="${cls}" id="${c}-${esc(h.hospital_id)}" data-value="${v}">${yuan(v)}</td>`;
  }).join("") + `</tr>`).join("");
  renderPatients(a.patients);
  const key = "result";
  const rows = [...a.hospitals].sort((x, y) => x[key] - y[key]);
  Plotly.react("chart-result", [{
    type: "bar", x: rows.map((h) => h.hospital_id), y: rows.map((h) => h[key]),
    marker: { color: rows.map((h) => (h[key] < 0 ? "#c0392b" : "#2e8b57")) },
    customdata: rows.map((h) => [h.final_amount, h.ffs_amount]),
    hovertemplate: "%{x}: %{y:,.2f}<br>" + col("final_amount") + " %{customdata[0]:,.2f}<br>" + col("ffs_amount") + " %{customdata[1]:,.2f}<extra></extra>",
  }], layout(t(a.whatif_summary ? "whatif_chart" : "result_chart")), CFG);
}

function renderPatients(p) {
  const el = $("patients");
  if (!p) { el.innerHTML = ""; $("patients-h").hidden = true; return; }
  $("patients-h").hidden = false;
  const cols = ["hospital_level", "cases", "total_cost", "basic", "critical", "assistance", "safety_net", "oop", "actual_ratio", "policy_ratio"];
  const rows = [...p.by_level, { ...p.total, hospital_level: S.lang === "zh" ? "合计" : "total" }];
  el.innerHTML = `<tr>${cols.map((c) => `<th>${esc(col(c))}</th>`).join("")}</tr>` + rows.map((r) =>
    `<tr>${cols.map((c) => `<td class="${c === "hospital_level" ? "" : "num"}" id="pt-${c}-${esc(r.hospital_level)}" data-value="${r[c]}">${esc(c === "hospital_level" || c === "cases" ? r[c] : c.endsWith("ratio") ? fmt("diff_pct", r[c]) : yuan(r[c]))}</td>`).join("")}</tr>`).join("");
}

function layout(title) {
  return { title: { text: title, font: { size: 13 }, x: 0.01, xanchor: "left" }, font: { family: S.meta.fonts, size: 11 },
           margin: { l: 70, r: 10, t: 36, b: 50 }, xaxis: { type: "category" } };
}

/* ---------------------------------------------------------------- drill-down */

async function loadHospital() {
  const id = $("hospital-select").value;
  if (!id) return;
  try {
    const d = await api("POST", `/api/hospital/${encodeURIComponent(id)}`, body());
    const st = d.statement;
    $("st-note").textContent = d.whatif ? t("st_whatif") : "";
    $("st-note").hidden = !d.whatif;
    const keys = ["hospital_id", "hospital_level", "alliance_id", "cases", "sr_cases", "points", "total_cost",
      "ffs_amount", "entitlement", "tier_ratio", "sharing", "recovered", "tier_adjustment", "deposit", "score",
      "release", "alliance_adjustment", "final_amount", "advances", "clearing", "result", "payment_ratio", "cmi"];
    $("statement").innerHTML = keys.filter((k) => k in st).map((k) =>
      `<tr><th>${esc(col(k))}</th><td class="num" id="st-${k}" data-value="${st[k]}">${esc(fmt(k, st[k]))}</td></tr>`).join("");
    const months = Object.keys(d.advances);
    Plotly.react("chart-advances", [{ type: "bar", x: months.map((m) => col(m)), y: months.map((m) => d.advances[m]),
      marker: { color: "#1f4e79" } }], { ...layout(t("advances_chart")), xaxis: { type: "category" } },
      CFG);
    const mix = d.case_class_mix;
    $("mix").innerHTML = `<tr><th>${col("case_class")}</th><th>${col("cases")}</th></tr>` + Object.keys(mix).map((k) =>
      `<tr><td>${esc(col(k))}</td><td class="num">${mix[k]}</td></tr>`).join("");
    const gc = ["group", "cases", "points", "amount", "total_cost", "gain"];
    $("groups").innerHTML = `<tr>${gc.map((c) => `<th>${esc(t("g_" + c))}</th>`).join("")}</tr>` + d.groups.map((r) =>
      `<tr>${gc.map((c) => c === "group" ? `<td>${esc(r[c])}</td>` : c === "cases" ? `<td class="num">${r[c]}</td>`
        : c === "points" ? `<td class="num">${Number(r[c]).toFixed(2)}</td>`
        : `<td class="num${c === "gain" ? (r[c] < 0 ? " neg" : " pos") : ""}">${yuan(r[c])}</td>`).join("")}</tr>`).join("");
  } catch (e) { status(e.message, true); }
}

function signalName(s) { const n = S.meta.signal_names[s]; return n ? n[S.lang === "zh" ? 0 : 1] : s; }

async function loadSupervision() {
  const id = $("hospital-select").value;
  if (!id) return;
  if (!S.sup[id]) {
    $("signals-note").textContent = t("sup_computing");
    try {
      S.sup[id] = await api("GET", `/api/hospital/${encodeURIComponent(id)}/supervision`);
    } catch (e) { status(e.message, true); return; }
  }
  if ($("hospital-select").value === id) renderSupervision(S.sup[id]);
}

function renderSupervision(d) {
  const un = d.unavailable.map((u) => `${signalName(u.signal)} ${t("sup_unavailable")}: ${u.reason}`);
  $("signals-note").textContent = [t("sup_note"), ...un, ...d.notes].join(" · ");
  const sc = ["signal", "signal_value", "peer_value", "signal_score", "flagged", "flagged_cases"];
  const key = { signal_value: "value", signal_score: "score" };
  $("signals").innerHTML = d.signals.length ? `<tr>${sc.map((c) => `<th>${esc(col(c))}</th>`).join("")}</tr>` +
    d.signals.map((r) => `<tr${r.flagged ? ' class="alert"' : ""}>` + sc.map((c) => {
      const v = r[key[c] || c];
      if (c === "signal") return `<td>${esc(signalName(v))}</td>`;
      if (c === "flagged") return `<td id="sig-${r.signal}-flagged" data-value="${v}">${t(v ? "yes" : "no")}</td>`;
      const text = v === null ? "" : c === "flagged_cases" ? String(v) : c === "signal_score" ? v.toFixed(2) : v.toFixed(4);
      return `<td class="num" id="sig-${r.signal}-${key[c] || c}" data-value="${v}">${text}</td>`;
    }).join("") + `</tr>`).join("") : "";
  const cc = ["case_id", "signal", "detail"];
  $("signal-cases").innerHTML = d.cases.length ? `<tr>${cc.map((c) => `<th>${esc(col(c))}</th>`).join("")}</tr>` +
    d.cases.map((r) => `<tr><td>${esc(r.case_id)}</td><td>${esc(signalName(r.signal))}</td>` +
      `<td>${esc(S.lang === "zh" && r.detail_zh ? r.detail_zh : r.detail)}</td></tr>`).join("") +
    `<tr><th>${esc(t("sup_total"))}</th><td class="num" id="sig-total" data-value="${d.flagged_cases}" colspan="2">${d.flagged_cases}</td></tr>`
    : `<tr><td>${esc(t(d.signals.length ? "sup_none" : "sup_unavailable"))}</td></tr>`;
}

/* ---------------------------------------------------------------- scenarios */

async function listScenarios() {
  const d = await api("GET", "/api/scenarios");
  const names = d.scenarios.map((x) => x.name);
  $("saved").innerHTML = `<tr><th>${t("name")}</th><th>${t("download")}</th></tr>` + d.scenarios.map((x) => {
    const n = encodeURIComponent(x.name);
    return `<tr><td>${esc(x.name)}</td><td><a href="/api/scenarios/${n}/toml" download>TOML</a> · ` +
      `<a href="/api/scenarios/${n}/report.html?lang=${S.lang}" download>HTML</a> · ` +
      `<a href="/api/scenarios/${n}/report.xlsx?lang=${S.lang}" download>Excel</a></td></tr>`;
  }).join("");
  for (const id of ["cmp-a", "cmp-b"]) {
    const sel = $(id), cur = sel.value;
    sel.innerHTML = names.map((n) => `<option>${esc(n)}</option>`).join("");
    if (names.includes(cur)) sel.value = cur;
  }
  if (names.length > 1 && $("cmp-a").value === $("cmp-b").value) $("cmp-b").value = names[names.length - 1];
}

async function saveScenario() {
  const name = $("scenario-name").value.trim();
  if (!name) return;
  try {
    await api("POST", `/api/scenarios/${encodeURIComponent(name)}`, body());
    status(`${t("saved_ok")}: ${name}`);
    await listScenarios();
  } catch (e) { status(e.message, true); }
}

async function compare() {
  const a = $("cmp-a").value, b = $("cmp-b").value;
  if (!a || !b) return;
  try {
    const d = await api("GET", `/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    const sc = ["metric", "a", "b", "diff", "diff_pct"];
    $("cmp-summary").innerHTML = `<tr>${sc.map((c) => `<th>${esc(col(c))}</th>`).join("")}</tr>` + d.summary.map((r) =>
      `<tr><td>${esc(col(r.metric))}</td>` + sc.slice(1).map((c) => `<td class="num">${esc(c === "diff_pct" ? fmt(c, r[c]) : fmt(r.metric, r[c]))}</td>`).join("") + `</tr>`).join("");
    const hc = Object.keys(d.hospitals[0] || {});
    $("cmp-hospitals").innerHTML = `<tr>${hc.map((c) => `<th>${esc(col(c))}</th>`).join("")}</tr>` + d.hospitals.map((r) =>
      `<tr>${hc.map((c) => `<td class="${c === "hospital_id" ? "" : "num"}">${esc(fmt(c, r[c]))}</td>`).join("")}</tr>`).join("");
  } catch (e) { status(e.message, true); }
}

/* ---------------------------------------------------------------- Monte Carlo */

async function runMC() {
  const spec = { ...S.meta.monte_carlo, draws: Number($("mc-draws").value), seed: Number($("mc-seed").value) };
  status(t("computing"));
  try {
    const b = body(); b.spec = spec;
    const d = await api("POST", "/api/montecarlo", b);
    Plotly.react("chart-mc-pv", [{ type: "histogram", x: d.point_value_draws, marker: { color: "#1f4e79" } }],
      { ...layout(t("mc_pv")), xaxis: { type: "linear", tickformat: ".2f" } }, CFG);
    const pk = Object.keys(d.point_value);
    $("mc-pct").innerHTML = `<tr><th></th>${pk.map((k) => `<th>${esc(col(k))}</th>`).join("")}</tr>` +
      `<tr><th>${esc(col("point_value"))}</th>${pk.map((k) => `<td class="num" id="mc-pv-${k}">${pv(d.point_value[k])}</td>`).join("")}</tr>` +
      `<tr><th>${esc(col("fund_balance"))}</th>${pk.map((k) => `<td class="num">${yuan(d.fund_balance[k])}</td>`).join("")}</tr>`;
    const h = [...d.hospitals].sort((x, y) => x.p50 - y.p50);
    const x = h.map((r) => r.hospital_id);
    Plotly.react("chart-mc-bands", [
      { type: "bar", x, base: h.map((r) => r.p5), y: h.map((r) => r.p95 - r.p5), name: "P5–P95", marker: { color: "rgba(31,78,121,.25)" } },
      { type: "bar", x, base: h.map((r) => r.p25), y: h.map((r) => r.p75 - r.p25), name: "P25–P75", marker: { color: "rgba(31,78,121,.6)" } },
      { type: "scatter", mode: "markers", x, y: h.map((r) => r.p50), name: "P50", marker: { color: "#f5a623", size: 7 } },
    ], { ...layout(t("mc_bands")), barmode: "overlay" }, CFG);
    status(`${d.draws} ${t("mc_done")} ${d.seed}`);
  } catch (e) { status(e.message, true); }
}

/* ---------------------------------------------------------------- cash flow (§8a) */

function buildCashflowLevers() {
  const bar = $("cf-levers"); bar.innerHTML = "";
  const m = S.meta.cashflow;
  if (!m) { $("cf-note").textContent = t("cf_none") + (S.meta.cashflow_note ? ": " + S.meta.cashflow_note : ""); return; }
  $("cf-note").textContent = m.name;
  for (const lv of m.levers) {
    const id = "cf-" + lv.key;
    const lab = document.createElement("label"); lab.htmlFor = id; lab.textContent = S.lang === "zh" ? lv.zh : lv.en;
    let ctl;
    if (lv.options.length) {
      ctl = document.createElement("select");
      for (const o of lv.options) { const opt = document.createElement("option"); opt.value = o; opt.textContent = t(o); ctl.appendChild(opt); }
    } else {
      ctl = document.createElement("input"); ctl.type = "number"; ctl.min = lv.min; ctl.max = lv.max; ctl.step = lv.step;
    }
    ctl.id = id; ctl.value = CF.levers[lv.key];
    const unit = document.createElement("span"); unit.className = "unit"; unit.id = id + "-unit";
    const u = S.lang === "zh" ? lv.unit_zh : lv.unit_en;
    unit.textContent = lv.options.length ? "" : `${u ? u + "；" : ""}${lv.min} – ${lv.max}`;
    ctl.setAttribute("aria-describedby", unit.id);
    ctl.addEventListener("change", () => {
      if (lv.options.length) CF.levers[lv.key] = ctl.value;
      else {
        const x = ctl.value === "" ? m.base[lv.key] : Number(ctl.value);
        if (x < lv.min || x > lv.max) { status(`${lab.textContent}: ${lv.min} – ${lv.max}`, true); ctl.setAttribute("aria-invalid", "true"); return; }
        ctl.removeAttribute("aria-invalid"); CF.levers[lv.key] = x;
      }
      clearTimeout(CF.timer); CF.timer = setTimeout(loadCashflow, 120);
    });
    bar.append(lab, ctl, unit);
  }
}

async function loadCashflow() {
  if (!S.meta.cashflow) return;
  const seq = ++CF.seq;
  try {
    const d = await api("POST", "/api/cashflow", { levers: CF.levers });
    if (seq !== CF.seq) return;
    CF.answer = d;
    const sel = $("cf-fund"), cur = sel.value;
    sel.innerHTML = d.funds.map((f) => `<option value="${esc(f.fund)}">${esc(f.label)}</option>`).join("");
    if (d.funds.some((f) => f.fund === cur)) sel.value = cur;
    renderCashflow();
  } catch (e) { status(e.message, true); }
}

function renderCashflow() {
  const d = CF.answer; if (!d) return;
  const f = d.funds.find((x) => x.fund === $("cf-fund").value) || d.funds[0];
  const low = f.lowest_months_of_reserve;
  $("cf-cards").innerHTML =
    card("cf-lowest", t("cf_lowest"), low === null ? "" : `${low.toFixed(2)} (${f.lowest_month})`, low) +
    card("cf-prepayment", t("cf_prepay"), yuan(f.prepayment), f.prepayment) +
    card("cf-eligible", t("cf_eligible"), t(f.eligible ? "yes" : "no") + " · " + (S.lang === "zh" ? f.eligibility_zh : f.eligibility), f.eligible) +
    card("cf-alerts", t("cf_alerts"), String(f.alerts.length), f.alerts.length);
  const months = f.ledger.map((r) => r.month);
  Plotly.react("chart-cf-fund", [
    { type: "bar", x: months, y: f.ledger.map((r) => r.closing), name: t("cf_balance"), marker: { color: "#1f4e79" } },
    { type: "scatter", mode: "lines+markers", x: months, y: f.ledger.map((r) => r.months_of_reserve), name: t("cf_mor"), yaxis: "y2",
      marker: { color: f.ledger.map((r) => (r.low_reserve_alert ? "#c0392b" : "#f5a623")) }, line: { color: "#f5a623" } },
    { type: "scatter", mode: "lines", x: [months[0], months[months.length - 1]], y: [d.alert_months, d.alert_months], name: `${t("cf_alert")} ${d.alert_months}`,
      yaxis: "y2", line: { color: "#c0392b", dash: "dash" } },
  ], { ...layout(`${f.label}: ${t("cf_fund_title")}`), yaxis: { title: { text: t("cf_balance") } },
       yaxis2: { title: { text: t("cf_mor") }, overlaying: "y", side: "right", rangemode: "tozero" },
       legend: { orientation: "h", y: -0.2 }, margin: { l: 80, r: 60, t: 36, b: 70 } }, CFG);
  Plotly.react("chart-cf-cash", f.cash.hospitals.map((h, i) => ({
    type: "scatter", mode: "lines", x: f.cash.months, y: f.cash.position[i], name: h, line: { width: 1 } })),
    { ...layout(`${f.label}: ${t("cf_cash_title")}`), showlegend: false }, CFG);
  const cols = ["month", "opening", "income", "prepayment", "advances", "deductions", "special_review", "other_spending",
                "clearing", "expenditure", "closing", "months_of_reserve"];
  $("cf-ledger").innerHTML = `<tr>${cols.map((c) => `<th>${esc(col(c))}</th>`).join("")}</tr>` + f.ledger.map((r, i) =>
    `<tr${r.low_reserve_alert ? ' class="alert"' : ""}>${cols.map((c) => c === "month" ? `<td>${esc(r[c])}</td>`
      : `<td class="num" id="cf-${c}-${i + 1}" data-value="${r[c]}">${c === "months_of_reserve" ? (r[c] === null ? "" : r[c].toFixed(2)) : yuan(r[c])}</td>`).join("")}</tr>`).join("");
}

/* ---------------------------------------------------------------- views, language */

function showView(v) {
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", String(b.dataset.view === v));
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + v;
  if (v === "hospital") { loadHospital(); loadSupervision(); }
  if (v === "scenarios") listScenarios();
  if (v === "overview") render();
  if (v === "cashflow") { if (CF.answer) renderCashflow(); else loadCashflow(); }
  window.dispatchEvent(new Event("resize"));
}

function applyLang() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("lang").textContent = S.lang === "zh" ? "English" : "中文";
  document.title = t("title");
  buildLevers();
  buildCashflowLevers();
  render();
  if (!$("view-hospital").hidden) { loadHospital(); loadSupervision(); }
  if (!$("view-cashflow").hidden) renderCashflow();
}

async function init() {
  S.meta = await api("GET", "/api/meta");
  S.levers = { ...S.meta.base };
  S.tiers = S.meta.tiers.map((r) => r.map(String));
  $("region").textContent = `${S.meta.name} · ${S.meta.n_cases.toLocaleString("en-US")}`;
  $("hospital-select").innerHTML = S.meta.hospitals.map((h) => `<option>${esc(h)}</option>`).join("");
  $("mc-draws").value = S.meta.monte_carlo.draws;
  $("mc-seed").value = S.meta.monte_carlo.seed;
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showView(b.dataset.view));
  $("lang").addEventListener("click", () => { S.lang = S.lang === "zh" ? "en" : "zh"; applyLang(); });
  $("reset").addEventListener("click", () => { S.levers = { ...S.meta.base }; S.tiers = S.meta.tiers.map((r) => r.map(String)); S.tiersDirty = false; buildLevers(); refresh(); });
  $("hospital-select").addEventListener("change", () => { loadHospital(); loadSupervision(); });
  $("save").addEventListener("click", saveScenario);
  $("compare").addEventListener("click", compare);
  $("mc-run").addEventListener("click", runMC);
  $("cf-fund").addEventListener("change", renderCashflow);
  if (S.meta.cashflow) CF.levers = { ...S.meta.cashflow.base };
  buildLevers();
  buildCashflowLevers();
  await refresh();
}

init().catch((e) => status(e.message, true));
