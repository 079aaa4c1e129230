"use strict";
// The live view: one EventSource on the session's log; each record updates the page at once.
const sessionId = Number(document.getElementById("live").dataset.sessionId);
const counts = { commands: 0, vetoed: 0, clamped: 0, steps: 0, failed: 0 };
const pulses = {}; const commanded = {};
let latestT = 0; let noteT = null;
window.__obsiArrivals = []; // {t_s, wall_ms}: when each decode appeared (benchmarks read it)

function set(id, text) { const el = document.getElementById(id); if (el) el.textContent = text; }

function renderElectrodes() {
  const ids = new Set([...Object.keys(pulses), ...Object.keys(commanded)]);
  rows("#electrodes", [...ids].sort((a, b) => a - b), (e) => [`E${String(e).padStart(2, "0")}`, (commanded[e] ?? 0).toFixed(2), pulses[e] ?? 0]);
}

const handlers = {
  decode(ev) {
    latestT = ev.t_s;
    set("t-s", ev.t_s.toFixed(1)); set("state", ev.state); set("amplitude", ev.amplitude.toFixed(2));
    rows("#probs", ev.states.map((s, i) => [s, ev.probs[i]]), ([s, p]) =>
      [esc(s), `<meter min="0" max="1" value="${p}"></meter>`, p.toFixed(2)]);
    window.__obsiArrivals.push({ t_s: ev.t_s, wall_ms: performance.timeOrigin + performance.now() });
    if (window.__obsiArrivals.length > 20000) window.__obsiArrivals.shift();
  },
  command(ev) {
    counts.commands += 1; if (ev.vetoed) counts.vetoed += 1; if (ev.clamped) counts.clamped += 1;
    set("commands", counts.commands); set("vetoed", counts.vetoed); set("clamped", counts.clamped);
    for (const key of Object.keys(commanded)) commanded[key] = 0;
    if (!ev.vetoed) for (const c of ev.channels) commanded[c.electrode] = c.amplitude_ma;
    renderElectrodes();
  },
  pulses(ev) {
    for (const [e, n] of Object.entries(ev.per_electrode)) pulses[e] = (pulses[e] ?? 0) + n;
    renderElectrodes();
  },
  safety(ev) {
    const li = document.createElement("li");
    li.className = ev.rule === "emergency_stop" ? "estop-event" : "";
    li.textContent = `${ev.t_s.toFixed(2)} s ${ev.action} ${ev.rule} ${ev.field} (value ${ev.value}, limit ${ev.limit})`;
    const list = document.getElementById("safety-events");
    list.prepend(li);
    while (list.children.length > 50) list.lastChild.remove();
    if (ev.rule === "emergency_stop") { set("live-status", "EMERGENCY STOP"); for (const k of Object.keys(commanded)) commanded[k] = 0; renderElectrodes(); }
  },
  latency(ev) {
    rows("#latency", Object.entries(ev.hops_ms), ([hop, ms]) => [esc(hop), ms.toFixed(2)]);
  },
  gait(ev) {
    counts.steps += 1; if (ev.failed) counts.failed += 1;
    set("steps", counts.steps); set("failed-steps", counts.failed); set("step-length", ev.length_m.toFixed(2));
  },
  summary(ev) {
    if (ev.name === "link") set("link", `frames sent ${ev.values.frames_sent}, lost ${ev.values.frames_lost}`);
  },
  annotation(ev) {
    const li = document.createElement("li");
    li.textContent = `${ev.start_s.toFixed(2)} s: ${ev.label}`;
    document.getElementById("annotations").prepend(li);
  },
  header() { set("live-status", "live"); },
  closed() { set("live-status", "ended"); },
};

const source = new EventSource(`/api/sessions/${sessionId}/live`);
source.onopen = () => set("live-status", "live");
source.onmessage = (message) => {
  for (const ev of JSON.parse(message.data)) { // one message: the records of one log read
    const handler = handlers[ev.type];
    if (handler) handler(ev);
  }
};
source.addEventListener("end", () => { set("live-status", "ended"); source.close(); });
source.onerror = () => { if (source.readyState === EventSource.CLOSED) set("live-status", "disconnected"); };

document.getElementById("estop")?.addEventListener("click", async () => {
  const clicked = performance.now();
  set("estop-result", "stopping...");
  try {
    const r = await api("POST", `/api/sessions/${sessionId}/estop`, { reason: "all stimulation off (page)" });
    // click -> stop confirmed in the log, plus the pulses already scheduled when it was
    // applied: an upper bound on click -> zero output
    const ms = performance.now() - clicked + r.already_scheduled_ms;
    window.__obsiEstopMs = ms;
    set("estop-result", `All stimulation OFF from t = ${r.zero_output_from_t_s.toFixed(3)} s (zero output at most ${ms.toFixed(0)} ms after the click)`);
  } catch (e) { set("estop-result", `STOP NOT CONFIRMED: ${e.message}`); }
});

const note = document.getElementById("annotation");
note?.addEventListener("input", () => { if (noteT === null) noteT = latestT; });
document.getElementById("annotation-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const t = noteT ?? latestT;
  try {
    await api("POST", `/api/sessions/${sessionId}/annotations`, { t_s: t, text: note.value });
    note.value = ""; noteT = null;
  } catch (e) { set("estop-result", e.message); }
});
