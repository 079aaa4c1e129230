"use strict";
const programId = Number(document.getElementById("program").dataset.programId);
let program = null;
let current = null; // the version shown in the editor
let checkTimer = null;

function showChecks(result) {
  const v = document.getElementById("violations");
  v.innerHTML = result.violations.length
    ? `<h3>${result.violations.length} violation(s)</h3><ul>` + result.violations.map((x) =>
        `<li class="violation" data-field="${esc(x.field)}"><code>${esc(x.field)}</code>: ${esc(x.message)} ` +
        `<small>(rule ${esc(x.rule)}, limit ${esc(x.limit ?? "-")}, value ${esc(x.value ?? "-")})</small></li>`).join("") + "</ul>"
    : `<p class="ok">No violation: valid for the device's limits.</p>`;
  const w = document.getElementById("warnings");
  w.innerHTML = result.warnings.length
    ? `<h3>${result.warnings.length} charge-density warning(s): a reason is required</h3><ul>` + result.warnings.map((x) =>
        `<li class="warning" data-field="${esc(x.field)}"><code>${esc(x.field)}</code>: ${esc(x.message)}</li>`).join("") + "</ul>"
    : "";
  if (result.map_svg) document.getElementById("map").innerHTML = result.map_svg;
}

async function check() {
  const text = document.getElementById("yaml").value;
  if (!text.trim() || !document.getElementById("save-version")) return;
  try { showChecks(await api("POST", "/api/programs/check", { device_id: program.device.id, yaml_text: text })); }
  catch (e) { message(e.message); }
}

function message(text, ok) {
  const m = document.getElementById("program-message");
  m.textContent = text;
  m.className = ok ? "message ok" : "message error";
}

async function open(number) {
  current = await api("GET", `/api/programs/${programId}/versions/${number}`);
  document.getElementById("yaml").value = current.yaml_text;
  document.getElementById("editing-version").textContent = `v${current.number}`;
  const badge = document.getElementById("status-badge");
  badge.textContent = current.status;
  badge.dataset.status = current.status;
  showChecks({ violations: current.violations, warnings: current.warnings, map_svg: current.map_svg });
}

async function load(openNumber) {
  program = await api("GET", `/api/programs/${programId}`);
  document.getElementById("program-title").textContent = `Program ${program.name} (${program.device.name}, ${program.device.kind})`;
  rows("#versions", program.versions, (v) => [
    `v${v.number}`, `<span class="badge" data-status="${esc(v.status)}">${esc(v.status)}</span>`, esc(v.created_by),
    v.signatures.map((s) => `${esc(s.printed_name)}, ${esc(s.signed_at)}, ${esc(s.meaning)}`).join("<br>"),
    `<button type="button" class="open-version" data-number="${v.number}">open</button>`,
  ]);
  for (const b of document.querySelectorAll(".open-version")) b.addEventListener("click", () => open(Number(b.dataset.number)));
  const options = program.versions.map((v) => `<option>${v.number}</option>`).join("");
  document.getElementById("diff-a").innerHTML = options;
  document.getElementById("diff-b").innerHTML = options;
  if (program.versions.length > 1) document.getElementById("diff-a").value = program.versions.length - 1;
  document.getElementById("diff-b").value = program.versions.length;
  await open(openNumber || program.versions[program.versions.length - 1].number);
}

document.getElementById("yaml").addEventListener("input", () => {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 250);
});
document.getElementById("diff-button").addEventListener("click", async () => {
  const a = document.getElementById("diff-a").value, b = document.getElementById("diff-b").value;
  const d = await api("GET", `/api/programs/${programId}/diff?a=${a}&b=${b}`);
  document.getElementById("diff").textContent = d.diff || "(no difference)";
});
document.getElementById("save-version")?.addEventListener("click", async () => {
  try {
    const v = await api("POST", `/api/programs/${programId}/versions`, { yaml_text: document.getElementById("yaml").value });
    await load(v.number);
    message(`saved as v${v.number} (draft)`, true);
  } catch (e) { message(e.message); }
});
document.getElementById("validate-version")?.addEventListener("click", async () => {
  try {
    const reason = document.getElementById("charge-reason").value;
    const v = await api("POST", `/api/programs/${programId}/versions/${current.number}/validate`, { charge_reason: reason || null });
    await load(v.number);
    message(`v${v.number} validated`, true);
  } catch (e) {
    if (e.data && e.data.detail && e.data.detail.violations) showChecks(e.data.detail);
    message(e.message);
  }
});
document.getElementById("approve-version")?.addEventListener("click", async () => {
  try {
    const v = await api("POST", `/api/programs/${programId}/versions/${current.number}/approve`, {
      printed_name: document.getElementById("sign-name").value,
      meaning: document.getElementById("sign-meaning").value,
      password: document.getElementById("sign-password").value,
    });
    document.getElementById("sign-password").value = "";
    await load(v.number);
    const s = v.signatures[v.signatures.length - 1];
    message(`v${v.number} approved: signed by ${s.printed_name} at ${s.signed_at} (${s.meaning})`, true);
  } catch (e) { message(e.message); }
});
load();
