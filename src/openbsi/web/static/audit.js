"use strict";
function short(v) { return v === null || v === undefined ? "" : esc(String(v).length > 120 ? String(v).slice(0, 120) + "..." : v); }
async function loadAudit() {
  rows("#audit", await api("GET", "/api/audit?limit=500"), (e) => [
    e.id, esc(e.at.slice(0, 19)), esc(e.username), esc(e.action), `${esc(e.record_type)} ${esc(e.record_id)}`,
    short(e.old_value), short(e.new_value), short(e.reason), `<code>${esc(e.sha256.slice(0, 12))}</code>`,
  ]);
}
document.getElementById("audit-verify").addEventListener("click", async () => {
  const r = await api("GET", "/api/audit/verify");
  document.getElementById("audit-result").textContent = r.ok
    ? `chain intact: ${r.entries} entries, head ${r.head.slice(0, 16)}`
    : `TAMPERING DETECTED: ${r.problems.join("; ")}`;
});
loadAudit();
