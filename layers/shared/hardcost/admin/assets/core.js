// core: the firm's token, calls to the admin API with refusals in words, small renderers, runs followed to the end.
const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get("token")) {
  sessionStorage.setItem("hcs-token", hash.get("token"));
  history.replaceState(null, "", location.pathname + location.search);  // keep the token out of history
}
const token = sessionStorage.getItem("hcs-token") || "";
const claims = (() => { try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; } })();
const tenant = new URLSearchParams(location.search).get("tenant") || claims.tenant_id || (claims.tenants || [])[0] || "";
const base = "/admin/tenants/" + encodeURIComponent(tenant);
const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function say(id, text, isError) { const el = $(id); el.textContent = text; el.classList.toggle("error", !!isError); }

class ApiError extends Error {
  constructor(message, status, fields) { super(message); this.status = status; this.fields = fields || {}; }
}

// What a refusal says, in words: the API's own message, never its JSON.
function refusalInWords(data, status) {
  if (data && typeof data.message === "string" && data.message) return data.message;
  if (data && typeof data.detail === "string" && data.detail) return data.detail;
  return {
    401: "Your sign-in has expired or is not valid: open the link you were sent again.",
    403: "Your sign-in does not give access to this firm.",
    404: "Not found: it may have been removed meanwhile.",
    429: "Too many requests at once: try again in a minute.",
  }[status] || "The service could not answer just now (error " + status + "). Try again in a moment.";
}

async function request(method, path, body) {
  const response = await fetch(path, {
    method, headers: { "Authorization": "Bearer " + token, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) {
    let data = null;
    try { data = JSON.parse(await response.text()); } catch { data = null; }
    throw new ApiError(refusalInWords(data, response.status), response.status, data && data.fields);
  }
  return response;
}

async function call(method, path, body) {
  const text = await (await request(method, path, body)).text();
  return text ? JSON.parse(text) : null;
}

function cell(row, text, label, cls) {
  const td = row.insertCell();
  td.textContent = text == null ? "" : String(text);
  if (label) td.dataset.label = label;
  if (cls) td.className = cls;
  return td;
}
function element(tag, text, cls) { const el = document.createElement(tag); if (text != null) el.textContent = text; if (cls) el.className = cls; return el; }
function link(href, text) { const a = element("a", text); a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; return a; }
function button(text, onClick, cls, label) {
  const b = element("button", text, cls); b.type = "button"; b.addEventListener("click", onClick);
  if (label) b.setAttribute("aria-label", label);
  return b;
}
function when(value) { return value ? new Date(value).toLocaleString() : ""; }
function money(value) { return value == null ? "" : Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
function clientName(client) {
  if (!client) return "No client";
  const qbo = client.customer_name || client.contact_name || (client.customer_id ? "Customer #" + client.customer_id : "No client");
  return client.contact_name && client.contact_name !== qbo ? qbo + " (Clio: " + client.contact_name + ")" : qbo;
}
function fill(body, items, render, emptyText, columns) {
  body.replaceChildren();
  if (!items.length) { const td = body.insertRow().insertCell(); td.colSpan = columns; td.className = "empty"; td.textContent = emptyText; return; }
  for (const item of items) render(body.insertRow(), item);
}

// A Sync now or a Retry is queued work: follow it until it is done and say what it came to.
async function follow(run, messageId, prefix) {
  const lead = prefix ? prefix + " " : "";
  say(messageId, lead + run.message);
  for (let i = 0; run.state !== "done" && i < 120; i += 1) {
    await sleep(i < 10 ? 500 : 1500);
    run = await call("GET", base + "/runs/" + encodeURIComponent(run.run_id));
    say(messageId, lead + run.message);
  }
  if (run.state !== "done") say(messageId, lead + run.message + " It is taking longer than usual; the page refreshes when you press Refresh.");
  await loadAll();
  return run;
}

// A CSV the API answers behind the firm's token: fetched, then handed to the browser as a download.
async function download(kind, query) {
  const response = await request("GET", base + "/exports/" + kind + (query ? "?" + query : ""));
  const blob = await response.blob();
  const a = element("a"); a.href = URL.createObjectURL(blob); a.download = kind + ".csv";
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return blob;
}
