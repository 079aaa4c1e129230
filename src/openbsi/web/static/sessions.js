"use strict";
async function loadSessions() {
  rows("#sessions", await api("GET", "/api/sessions"), (s) => [
    s.id, esc(s.patient), `${esc(s.program)} v${s.program_version}`, esc(s.source),
    `<span class="badge" data-status="${esc(s.status)}">${esc(s.status)}</span>`, esc(s.started_at.slice(0, 19)),
    esc(s.started_by), s.verification ? (s.verification.ok ? "ok" : "FAILED") : "-",
    `<a href="/sessions/${s.id}/live">live</a> &middot; <a href="/sessions/${s.id}">review</a>`,
  ]);
}
async function loadChoices() {
  const patients = await api("GET", "/api/patients");
  document.getElementById("session-patient").innerHTML = patients
    .map((p) => `<option value="${p.id}">${esc(p.pseudonym)} (${esc(p.kind)})</option>`).join("");
  const programs = await api("GET", "/api/programs");
  const options = [];
  for (const p of programs) for (const v of p.versions) {
    if (v.status === "validated" || v.status === "approved") {
      options.push(`<option value="${p.id}:${v.number}">${esc(p.name)} v${v.number} (${esc(v.status)})</option>`);
    }
  }
  document.getElementById("session-program").innerHTML = options.join("");
}
const form = document.getElementById("session-form");
if (form) {
  loadChoices();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const d = formData(form);
    const [programId, version] = (d.program_version || ":").split(":");
    const error = form.querySelector(".error");
    error.textContent = "";
    try {
      const s = await api("POST", "/api/sessions", {
        patient_id: Number(d.patient_id), program_id: Number(programId), version: Number(version),
        source: d.source, seconds: Number(d.seconds), subject_sex: d.subject_sex,
        subject_age_years: Number(d.subject_age_years), experimenter: d.experimenter, institution: d.institution,
      });
      window.location = `/sessions/${s.id}/live`;
    } catch (e) { error.textContent = e.message; }
  });
}
loadSessions();
