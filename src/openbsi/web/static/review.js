"use strict";
const reviewId = Number(document.getElementById("review").dataset.sessionId);
function verdict(v) {
  if (!v) return "not verified yet";
  return v.ok ? `verified ok (${v.file}, ${v.chunks} chunks, hash chain intact, ${v.verified_at})`
    : `VERIFICATION FAILED: ${(v.problems || []).join("; ")}`;
}
async function loadReview() {
  const s = await api("GET", `/api/sessions/${reviewId}`);
  const badge = document.getElementById("review-status");
  badge.textContent = s.status; badge.dataset.status = s.status;
  const facts = {
    patient: s.patient, program: `${s.program} v${s.program_version} (${s.program_status})`, source: s.source,
    "duration (s)": s.seconds, "started by": s.started_by, started: s.started_at, ended: s.ended_at ?? "-",
    sex: s.metadata.subject_sex, "age (years)": s.metadata.subject_age_years,
    experimenter: s.metadata.experimenter, institution: s.metadata.institution,
  };
  document.getElementById("session-facts").innerHTML = Object.entries(facts)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
  document.getElementById("verification").textContent = verdict(s.verification);
  const frame = document.getElementById("report");
  if (s.has_report && !frame.src.includes("report.html")) frame.src = `/api/sessions/${reviewId}/files/report.html`;
  if (s.status === "starting" || s.status === "running") setTimeout(loadReview, 2000);
  return s;
}
document.getElementById("verify")?.addEventListener("click", async () => {
  document.getElementById("verification").textContent = "verifying...";
  try { document.getElementById("verification").textContent = verdict(await api("POST", `/api/sessions/${reviewId}/verify`)); }
  catch (e) { document.getElementById("verification").textContent = e.message; }
});
loadReview();
