// failures: grouped by problem, each row naming the client, the failing amount, the payee and the fix; Retry per
// row and per group, followed to its outcome; "Link to a Clio contact" with a contact picker.
const FAILURE_COLUMNS = ["Client", "Transaction", "Date", "Amount", "Payee", "What to do", "Actions"];
const knownCodes = new Map();

async function retry(body, what) {
  try { return await follow(await call("POST", base + "/failures/retry", body), "page-message", what); }
  catch (error) { say("page-message", "Retry failed: " + error.message, true); return null; }
}

function failureRow(row, f) {
  row.dataset.txn = f.txn_id; row.dataset.code = f.code;
  cell(row, clientName(f.client), FAILURE_COLUMNS[0]);
  const txn = cell(row, "", FAILURE_COLUMNS[1]);
  const title = f.type + (f.number ? " " + f.number : " #" + f.txn_id);
  txn.append(f.qbo_url ? link(f.qbo_url, title) : document.createTextNode(title));
  cell(row, f.date, FAILURE_COLUMNS[2]);
  const amount = (f.currency ? f.currency + " " : "") + money(f.amount);
  const whole = f.transaction_amount != null && f.amount != null && Number(f.transaction_amount) !== Number(f.amount);
  cell(row, amount + (whole ? " of " + money(f.transaction_amount) : ""), FAILURE_COLUMNS[3], "num");
  cell(row, f.payee, FAILURE_COLUMNS[4]);
  const what = cell(row, "", FAILURE_COLUMNS[5]);
  what.append(element("div", f.fix, "fix"));
  if (f.lines.length) what.append(element("div", "Lines: " + f.lines.map((l) => (l.description || "line " + (l.line_id || "")) + " " + money(l.amount)).join("; "), "why"));
  if (f.detail) what.append(element("div", f.detail, "why"));
  const actions = element("div", null, "actions");
  const label = title + " for " + clientName(f.client);
  actions.append(button("Retry", () => retry({ txn_ids: [f.txn_id] }, "Retry of " + title + ":"), "secondary", "Retry " + label));
  if (f.code === "NO_CLIO_CONTACT" && f.client && f.client.customer_id) {
    const b = button("Link to a Clio contact", () => openLinkPicker(f.client), "", "Link " + clientName(f.client) + " to a Clio contact");
    b.dataset.linkCustomer = f.client.customer_id;
    actions.append(b);
  }
  if (f.clio_url) actions.append(link(f.clio_url, "Open in Clio"));
  const td = row.insertCell(); td.dataset.label = FAILURE_COLUMNS[6]; td.append(actions);
}

async function loadFailures() {
  const query = new URLSearchParams();
  if ($("failure-search").value.trim()) query.set("q", $("failure-search").value.trim());
  if ($("failure-code").value) query.set("code", $("failure-code").value);
  const items = await call("GET", base + "/failures" + (query.toString() ? "?" + query : ""));
  $("failure-count").textContent = "(" + items.length + ")";
  const groups = new Map();
  for (const f of items) { if (!groups.has(f.code)) groups.set(f.code, []); groups.get(f.code).push(f); knownCodes.set(f.code, f.message); }
  const codes = $("failure-code"); const chosen = codes.value; codes.length = 1;
  for (const [code, message] of knownCodes) codes.add(new Option(message, code));
  codes.value = chosen;
  const container = $("failures"); container.replaceChildren();
  if (!items.length) { container.append(element("p", query.toString() ? "No failure matches." : "No sync failures.", "empty")); return; }
  for (const [code, rows] of groups) {
    const group = element("div", null, "group"); group.dataset.code = code;
    const heading = element("h3", rows[0].message + " (" + rows.length + ")"); heading.id = "group-" + code;
    const retryGroup = button("Retry these " + rows.length, () => retry({ code }, "Retry of " + rows.length + ":"), "secondary", "Retry the " + plural(rows.length, "failure", "failures") + ": " + rows[0].message);
    const table = element("table", null, "stack"); table.setAttribute("aria-labelledby", heading.id);
    const head = table.createTHead().insertRow();
    for (const name of FAILURE_COLUMNS) { const th = element("th", name); th.scope = "col"; head.append(th); }
    const body = table.createTBody();
    for (const f of rows) failureRow(body.insertRow(), f);
    group.append(heading, retryGroup, table);
    container.append(group);
  }
}

// The contact picker: search the firm's Clio contacts, link one; the customer's failures are retried at once.
let linking = null;
function openLinkPicker(client) {
  linking = client;
  $("link-customer").textContent = "QuickBooks customer: " + (client.customer_name || "#" + client.customer_id) + ". Choose the Clio contact it is; its failures are retried at once.";
  $("contact-search").value = client.customer_name || "";
  $("contact-results").replaceChildren(); say("link-message", "");
  $("link-dialog").showModal();
  $("contact-search").focus();
}

$("link-search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = $("contact-search").value.trim();
  if (!q) { say("link-message", "Type part of the contact's name.", true); return; }
  const list = $("contact-results"); list.replaceChildren();
  try {
    const contacts = await call("GET", base + "/clio-contacts?q=" + encodeURIComponent(q));
    say("link-message", contacts.length ? plural(contacts.length, "contact found", "contacts found") + "." : "No Clio contact matches “" + q + "”.");
    for (const c of contacts) {
      const li = element("li");
      const name = (c.name || "Contact #" + c.id) + (c.email ? " (" + c.email + ")" : "");
      const b = button("Link to " + name, () => linkContact(c), "secondary", null);
      b.dataset.contact = String(c.id);
      li.append(b); list.append(li);
    }
  } catch (error) { say("link-message", "Could not search Clio: " + error.message, true); }
});

async function linkContact(contact) {
  const client = linking;
  try {
    const answer = await call("PUT", base + "/contact-links/" + encodeURIComponent(client.customer_id), { contact_id: contact.id });
    $("link-dialog").close();
    const lead = "Linked " + (answer.link.customer_name || client.customer_name) + " to " + (answer.link.contact_name || contact.name) + ".";
    loadContactLinks();
    if (answer.retry) await follow(answer.retry, "page-message", lead); else { say("page-message", lead); await loadAll(); }
  } catch (error) { say("link-message", "Not linked: " + error.message, true); }
}

$("link-close").addEventListener("click", () => $("link-dialog").close());
$("failure-filter").addEventListener("submit", (event) => { event.preventDefault(); loadFailures().catch((error) => say("page-message", error.message, true)); });
$("retry-all").addEventListener("click", () => retry({}, "Retry of every failure:"));
