// setup: a new firm's three steps, the firm's health in words, the settings as a partial update with a preview,
// and the note an entry gets under them.
const STATE_LABELS = { healthy: "Healthy", setup: "Setup not finished", paused: "Paused", blocked: "Blocked", reconnect: "Reconnect needed", disconnected: "Not connected" };
const FIELD_IDS = { enabled: "enabled", start_date: "start-date", source_account_id: "source-account", default_user_id: "default-user", clio_expense_category_id: "category", include_memo_in_note: "include-memo", digest_email: "digest-email", digest_enabled: "digest-enabled" };
const PICKER_FIELDS = ["source_account_id", "default_user_id", "clio_expense_category_id"];

async function connect(provider) {
  const query = "?tenant_id=" + encodeURIComponent(tenant) + (provider === "clio" ? "&region=" + $("clio-region").value : "");
  try { location.assign((await call("GET", "/connect/" + provider + "/start" + query)).authorize_url); }
  catch (error) { say("page-message", "Cannot connect: " + error.message, true); }
}

// The guide: shown until the three steps are done; before the first connection it is all the page shows.
async function loadOnboarding() {
  const status = await call("GET", base + "/onboarding");
  const list = $("onboarding-steps");
  list.replaceChildren();
  for (const step of status.steps) {
    const li = element("li");
    li.dataset.step = step.key;
    li.append(element("strong", step.title + " "));
    if (step.done) li.append(element("span", "Done", "done"));
    else li.append(element("div", step.hint, "hint"));
    if (!step.done && step.key === status.next_step) {
      const actions = element("div", null, "actions");
      if (step.key === "qbo") actions.append(button("Connect QuickBooks Online", () => connect("qbo"), "", null));
      if (step.key === "clio") actions.append(button("Connect Clio", () => connect("clio"), "", null));
      if (step.key === "settings") actions.append(button("Choose the account and date", () => { $("settings-card").scrollIntoView(); $("source-account").focus(); }, "", null));
      actions.firstChild.id = "onboarding-next";
      li.append(actions);
    }
    list.append(li);
  }
  $("onboarding").hidden = status.next_step === null;
  for (const el of document.querySelectorAll(".firm-only")) el.hidden = !status.started;
  $("sync").hidden = !status.started;
  if (!status.started) { $("status").textContent = STATE_LABELS.setup; $("status").className = "badge setup"; }
  return status;
}

async function loadHealth() {
  const h = await call("GET", base + "/health");
  $("tenant-name").textContent = "— " + h.tenant_id;
  const status = $("status");
  status.textContent = STATE_LABELS[h.state] || h.state;  // "Healthy" only in the healthy state: both sides connected
  status.className = "badge " + h.state;
  const parts = [h.headline && !/[.!?]$/.test(h.headline) ? h.headline + "." : h.headline];
  if (h.last_sync_at) parts.push("Last sync " + when(h.last_sync_at) + ".");
  parts.push(plural(h.open_failures, "open failure", "open failures") + ", " + plural(h.needs_matter, "entry needs", "entries need") + " a matter.");
  $("health-summary").textContent = parts.filter(Boolean).join(" ");
  $("clio-region").value = h.clio_region;
  $("connect-qbo").textContent = (h.connected.qbo ? "Reconnect" : "Connect") + " QuickBooks Online";
  $("connect-clio").textContent = (h.connected.clio ? "Reconnect" : "Connect") + " Clio";
  const list = $("problems");
  list.replaceChildren();
  for (const p of h.problems) {
    const li = element("li");
    li.append(element("strong", p.message + " "), element("span", "How to fix: " + p.fix, "fix"));
    list.append(li);
  }
  // A connection near its end (QuickBooks' 5-year limit): the warning in words and the reconnect at hand.
  const names = { qbo: "QuickBooks Online", clio: "Clio" };
  for (const w of h.connection_warnings || []) {
    const li = element("li");
    li.dataset.warning = w.provider;
    li.append(element("strong", w.message + " "), button("Reconnect " + names[w.provider], () => connect(w.provider), "", null));
    list.append(li);
  }
}

// A picker whose list could not be loaded (QuickBooks or Clio down, or needing reconnecting) is disabled and
// left out of the save, so it never overwrites the firm's choice with "nothing".
const loadedPickers = new Set();
let saved = null;
let pending = null;

function picker(select, items, field, unavailable) {
  select.disabled = items === null;
  $(select.id + "-note").textContent = items === null ? unavailable : "";
  if (items === null) loadedPickers.delete(field); else loadedPickers.add(field);
}

async function loadSettings() {
  const [settings, accounts, users, categories] = await Promise.all([
    call("GET", base + "/settings"),
    call("GET", base + "/accounts").catch(() => null),
    call("GET", base + "/users").catch(() => null),
    call("GET", base + "/expense-categories").catch(() => null),
  ]);
  const source = $("source-account"); source.length = 1;
  for (const a of accounts || []) source.add(new Option(a.fully_qualified_name || a.name, a.id));
  const user = $("default-user"); user.length = 1;
  for (const u of users || []) user.add(new Option((u.name || "User " + u.id) + (u.account_owner ? " (account owner)" : ""), String(u.id)));
  const category = $("category"); category.length = 1;
  for (const c of categories || []) category.add(new Option(c.name, String(c.id)));
  picker(source, accounts, "source_account_id", "The QuickBooks accounts could not be loaded; your choice is kept.");
  picker(user, users, "default_user_id", "The Clio users could not be loaded; your choice is kept.");
  picker(category, categories, "clio_expense_category_id", "The Clio expense categories could not be loaded; your choice is kept.");
  showSettings(settings);
}

function showSettings(settings) {
  saved = settings;
  $("enabled").checked = settings.enabled;
  $("start-date").value = settings.start_date;
  $("source-account").value = settings.source_account_id || "";
  $("default-user").value = settings.default_user_id ? String(settings.default_user_id) : "";
  $("category").value = settings.clio_expense_category_id ? String(settings.clio_expense_category_id) : "";
  $("include-memo").checked = settings.include_memo_in_note;
  $("note-preview").textContent = settings.note_preview;  // the note an entry gets under the saved settings
  $("digest-email").value = settings.digest_email || "";
  $("digest-enabled").checked = settings.digest_enabled;
}

// Only what changed is sent (a partial update); a picker that did not load is never sent.
function changedSettings() {
  const form = {
    enabled: $("enabled").checked,
    start_date: $("start-date").value,
    source_account_id: $("source-account").value || null,
    default_user_id: $("default-user").value ? Number($("default-user").value) : null,
    clio_expense_category_id: $("category").value ? Number($("category").value) : null,
    include_memo_in_note: $("include-memo").checked,
    digest_email: $("digest-email").value.trim() || null,
    digest_enabled: $("digest-enabled").checked,
  };
  const changes = {};
  for (const [field, value] of Object.entries(form)) {
    if (PICKER_FIELDS.includes(field) && !loadedPickers.has(field)) continue;
    if (field === "source_account_id" && value === null) continue;  // cannot be cleared
    if (value !== (saved ? (saved[field] ?? null) : undefined)) changes[field] = value;
  }
  return changes;
}

function clearFieldMessages() { for (const id of Object.values(FIELD_IDS)) { const el = $(id + "-msg"); if (el) el.textContent = ""; } }

function showRefusal(error) {
  say("settings-message", "Not saved: " + error.message, true);
  for (const [field, words] of Object.entries(error.fields || {})) {
    const el = $((FIELD_IDS[field] || field) + "-msg");
    if (el) el.textContent = words;
  }
}

async function save(changes) {
  clearFieldMessages();
  try {
    const settings = await call("PUT", base + "/settings", changes);
    showSettings(settings);
    $("preview").hidden = true; pending = null;
    say("settings-message", ["Settings saved."].concat(settings.warnings || []).join(" "));
    await Promise.all([loadHealth(), loadOnboarding()]);
  } catch (error) { if (error instanceof ApiError) showRefusal(error); else say("settings-message", "Not saved: " + error.message, true); }
}

function effectInWords(effect) { return plural(effect.entries, "entry", "entries") + " totalling " + money(effect.total); }

// A new start date or account is previewed first (what would be imported, or no longer), saved on confirmation.
async function preview(changes) {
  clearFieldMessages();
  say("settings-message", "Checking what this change would import…");
  const ask = {};
  for (const field of ["start_date", "source_account_id"]) if (field in changes) ask[field] = changes[field];
  try {
    const p = await call("POST", base + "/settings/preview", ask);
    pending = changes;
    $("preview-summary").textContent = [p.message, "Would import: " + effectInWords(p.would_import) + ".",
      "No longer imported: " + effectInWords(p.no_longer_imported) + ".",
      plural(p.staying_in_clio, "entry already in Clio stays", "entries already in Clio stay") + " as they are."].concat(p.warnings || []).join(" ");
    const list = $("preview-clients"); list.replaceChildren();
    for (const c of p.would_import.clients) list.append(element("li", clientName(c.client) + ": " + plural(c.entries, "entry", "entries") + ", " + money(c.total)));
    $("preview").hidden = false;
    say("settings-message", "Review the preview, then confirm to save.");
    $("confirm-settings").focus();
  } catch (error) { if (error instanceof ApiError) showRefusal(error); else say("settings-message", error.message, true); }
}

$("settings-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const changes = changedSettings();
  if ("start_date" in changes && !changes.start_date) { $("start-date-msg").textContent = "Enter the date to import transactions from."; return; }
  if ("start_date" in changes || "source_account_id" in changes) preview(changes); else save(changes);
});
$("confirm-settings").addEventListener("click", () => { if (pending) save(pending); });
$("cancel-preview").addEventListener("click", () => { $("preview").hidden = true; pending = null; say("settings-message", "Nothing was changed."); showSettings(saved); });
$("connect-qbo").addEventListener("click", () => connect("qbo"));
$("connect-clio").addEventListener("click", () => connect("clio"));
$("disconnect").addEventListener("click", async () => {
  if (!confirm("Disconnect this firm? Its QuickBooks and Clio connections are revoked; its sync history is kept 90 days so a reconnect duplicates nothing.")) return;
  try { say("page-message", (await call("DELETE", base)).message); }
  catch (error) { say("page-message", "Disconnect failed: " + error.message, true); }
});

async function loadContactLinks() {
  const links = await call("GET", base + "/contact-links");
  const list = $("contact-links"); list.replaceChildren();
  if (!links.length) list.append(element("li", "None yet: use “Link to a Clio contact” on a failure.", "empty"));
  for (const l of links) {
    const li = element("li", (l.customer_name || "Customer #" + l.customer_id) + " → " + (l.contact_name || "Contact #" + l.contact_id) + " ");
    li.append(button("Unlink", async () => {
      try { await call("DELETE", base + "/contact-links/" + encodeURIComponent(l.customer_id)); say("page-message", "Unlinked " + (l.customer_name || l.customer_id) + "."); loadContactLinks(); }
      catch (error) { say("page-message", "Could not unlink: " + error.message, true); }
    }, "secondary", "Unlink " + (l.customer_name || l.customer_id)));
    list.append(li);
  }
  await loadUnmatchedCustomers();
}

// The customers Clio has no contact for (the kept QBO list, no metered read), each linked from here.
async function loadUnmatchedCustomers() {
  const customers = await call("GET", base + "/customers?not_in_clio=true");
  const list = $("unmatched-customers"); list.replaceChildren();
  if (!customers.length) list.append(element("li", "None: every customer with a purchase waiting has a Clio contact.", "empty"));
  for (const c of customers) {
    const name = c.name || "Customer #" + c.customer_id;
    const li = element("li", name + (c.email ? " (" + c.email + ")" : "") + ": " + plural(c.not_in_clio, "purchase waits", "purchases wait") + " ");
    const b = button("Link to a Clio contact", () => openLinkPicker({ customer_id: c.customer_id, customer_name: c.name }), "secondary", "Link " + name + " to a Clio contact");
    b.dataset.unmatchedCustomer = c.customer_id;
    li.append(b); list.append(li);
  }
}
