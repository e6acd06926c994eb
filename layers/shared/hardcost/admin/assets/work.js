// work: the needs-matter queue with a matter picker, the reconciliation of a client and month, CSV downloads,
// the recent activity; then loading it all.
const NEEDS_COLUMNS = ["Client", "Date", "Amount", "Note", "Matter"];

async function loadNeedsMatter() {
  const items = await call("GET", base + "/needs-matter");
  $("needs-count").textContent = "(" + items.length + ")";
  fill($("needs-matter").tBodies[0], items, (row, n) => {
    row.dataset.txn = n.txn_id; row.dataset.customer = n.customer_id;
    cell(row, clientName(n.client), NEEDS_COLUMNS[0]); cell(row, n.date, NEEDS_COLUMNS[1]);
    cell(row, money(n.amount), NEEDS_COLUMNS[2], "num"); cell(row, n.note, NEEDS_COLUMNS[3]);
    const td = row.insertCell(); td.dataset.label = NEEDS_COLUMNS[4];
    const select = element("select");
    select.setAttribute("aria-label", "Matter for " + clientName(n.client) + ", " + money(n.amount) + " on " + (n.date || ""));
    select.add(new Option(n.matters.length ? "— choose a matter —" : "No open matter", ""));
    for (const m of n.matters) select.add(new Option([m.display_number, m.description].filter(Boolean).join(" ") || "Matter #" + m.id, String(m.id)));
    const assign = button("Assign", async () => {
      if (!select.value) { say("needs-message", "Choose the matter for " + clientName(n.client) + " first.", true); select.focus(); return; }
      try {
        const done = await call("POST", base + "/needs-matter/assign", { txn_id: n.txn_id, customer_id: n.customer_id, matter_id: Number(select.value) });
        say("needs-message", done.message);
        await Promise.all([loadNeedsMatter(), loadActivity(), loadHealth()]);
      } catch (error) { say("needs-message", "Not assigned: " + error.message, true); }
    }, "", "Assign the matter to " + clientName(n.client) + "'s entry of " + money(n.amount));
    const actions = element("div", null, "actions"); actions.append(select, assign);
    if (n.clio_url) actions.append(link(n.clio_url, "Open in Clio"));
    td.append(actions);
  }, "Nothing needs a matter.", NEEDS_COLUMNS.length);
}

async function loadCustomers() {
  const customers = await call("GET", base + "/customers");
  const select = $("recon-client"); const chosen = select.value; select.length = 1;
  for (const c of customers) select.add(new Option(c.name || "Customer #" + c.customer_id, c.customer_id));
  select.value = chosen;
}

function reconciliationTable(result) {
  const columns = ["Client", "QuickBooks", "Clio", "Difference", "Why"];
  const table = element("table", null, "stack"); table.id = "recon-table";
  const head = table.createTHead().insertRow();
  for (const name of columns) { const th = element("th", name); th.scope = "col"; head.append(th); }
  fill(table.createTBody(), result.clients, (row, c) => {
    row.dataset.customer = (c.client && c.client.customer_id) || "";
    cell(row, clientName(c.client), columns[0]); cell(row, money(c.qbo_total), columns[1], "num");
    cell(row, money(c.clio_total), columns[2], "num"); cell(row, money(c.difference), columns[3], "num");
    const why = cell(row, "", columns[4]);
    if (!c.explained.length) why.textContent = Number(c.difference) === 0 ? "Everything is in Clio." : "";
    for (const r of c.explained) why.append(element("div", r.explanation + ": " + money(r.amount) + " (" + plural(r.transactions, "transaction", "transactions") + ")"));
  }, "Nothing in QuickBooks for this month.", columns.length);
  return table;
}

$("recon-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const month = $("recon-month").value;
  if (!month) { say("recon-message", "Choose the month to reconcile.", true); return; }
  const query = new URLSearchParams({ month });
  if ($("recon-client").value) query.set("customer_id", $("recon-client").value);
  say("recon-message", "Reconciling " + month + "…");
  try {
    const r = await call("GET", base + "/reconciliation?" + query);
    say("recon-message", month + ": QuickBooks " + money(r.qbo_total) + ", Clio " + money(r.clio_total) + ", difference " + money(r.difference) + ".");
    $("recon-result").replaceChildren(reconciliationTable(r));
  } catch (error) { say("recon-message", "Could not reconcile: " + error.message, true); }
});

for (const b of document.querySelectorAll("button[data-export]")) {
  b.addEventListener("click", async () => {
    const kind = b.dataset.export;
    const month = $("recon-month").value;
    if (kind === "reconciliation" && !month) { say("recon-message", "Choose the month to reconcile first.", true); return; }
    const where = kind === "reconciliation" ? "recon-message" : kind === "needs-matter" ? "needs-message" : kind === "failures" ? "page-message" : "export-message";
    try { await download(kind, kind === "reconciliation" ? "month=" + month : ""); say(where, "Downloaded " + kind + ".csv."); }
    catch (error) { say(where, "Could not download: " + error.message, true); }
  });
}

async function loadActivity() {
  const items = await call("GET", base + "/activity?limit=30");
  const columns = ["When", "What", "QuickBooks transaction", "Detail"];
  fill($("activity").tBodies[0], items, (row, a) => {
    cell(row, when(a.at), columns[0]); cell(row, a.action, columns[1]); cell(row, a.txn_id, columns[2]); cell(row, a.detail, columns[3]);
  }, "No activity yet.", columns.length);
}
