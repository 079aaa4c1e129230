// Shared helpers: every state-changing request carries the session's CSRF token.
"use strict";
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
  if (!response.ok) {
    const error = new Error(describe(data && data.detail, response.status));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function describe(detail, status) {
  if (Array.isArray(detail)) return detail.map((d) => `${d.field}: ${d.problem}`).join("; ");
  if (detail && typeof detail === "object") return detail.message || JSON.stringify(detail);
  return detail || `HTTP ${status}`;
}

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function rows(table, items, cells) {
  document.querySelector(`${table} tbody`).innerHTML = items
    .map((item) => `<tr>${cells(item).map((c) => `<td>${c}</td>`).join("")}</tr>`)
    .join("");
}

function formData(form) {
  const out = {};
  for (const [key, value] of new FormData(form).entries()) out[key] = value;
  return out;
}

document.getElementById("logout")?.addEventListener("click", async () => {
  try { await api("POST", "/api/logout"); } finally { window.location = "/login"; }
});
