"use strict";
async function loadPatients() {
  rows("#patients", await api("GET", "/api/patients"), (p) =>
    [p.id, esc(p.pseudonym), esc(p.kind), esc(p.injury_level), esc(p.ais), esc(p.profile)]);
}
async function loadDevices() {
  const devices = await api("GET", "/api/devices");
  if (document.getElementById("devices")) {
    rows("#devices", devices, (d) => [d.id, esc(d.name), esc(d.kind), esc(d.profile), d.charge_warning_uc_cm2]);
  }
  const select = document.getElementById("program-device");
  if (select) select.innerHTML = devices.map((d) => `<option value="${d.id}">${esc(d.name)} (${esc(d.kind)})</option>`).join("");
  return devices;
}
async function loadPrograms() {
  rows("#programs", await api("GET", "/api/programs"), (p) => [
    p.id, `<a href="/programs/${p.id}">${esc(p.name)}</a>`, p.device_id,
    p.versions.map((v) => `v${v.number} ${esc(v.status)}`).join(", "),
  ]);
}
function bindForm(id, url, convert, reload) {
  const form = document.getElementById(id);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    error.textContent = "";
    try { await api("POST", url, convert(formData(form))); form.reset(); await reload(); }
    catch (e) { error.textContent = e.message; }
  });
}
if (document.getElementById("patients")) {
  loadPatients();
  bindForm("patient-form", "/api/patients", (d) => d, loadPatients);
}
if (document.getElementById("devices")) {
  loadDevices();
  bindForm("device-form", "/api/devices", (d) => ({ ...d, charge_warning_uc_cm2: Number(d.charge_warning_uc_cm2) }), loadDevices);
}
if (document.getElementById("programs")) {
  loadPrograms();
  loadDevices();
  bindForm("program-form", "/api/programs", (d) => ({ ...d, device_id: Number(d.device_id) }), loadPrograms);
}
