// start: load what the firm has (only the guide before its first connection), and the header's buttons.
async function loadAll() {
  if (!token) { say("page-message", "Sign in first: open the link with your access token (ask your administrator for a new one if it has expired).", true); return; }
  if (!tenant) { say("page-message", "This sign-in names no firm: ask your administrator for a link to your firm's page.", true); return; }
  try {
    const status = await loadOnboarding();
    if (status.started) await Promise.all([loadHealth(), loadFailures(), loadNeedsMatter(), loadActivity(), loadContactLinks()]);
    document.body.dataset.loaded = String(Date.now());
    return status;
  } catch (error) { say("page-message", "Could not load: " + error.message, true); return null; }
}

$("sync").addEventListener("click", async () => {
  try { await follow(await call("POST", base + "/sync"), "page-message", "Sync now:"); }
  catch (error) { say("page-message", "Sync failed: " + error.message, true); }
});
$("refresh").addEventListener("click", loadAll);

const now = new Date();
$("recon-month").value = now.getFullYear() + "-" + String(now.getMonth() + 1).padStart(2, "0");
const connected = new URLSearchParams(location.search).get("connected");
if (connected) say("page-message", (connected === "qbo" ? "QuickBooks Online" : "Clio") + " is connected.");
loadAll().then((status) => {
  if (!status || !status.started) return;
  loadSettings().catch((error) => say("settings-message", "Could not load settings: " + error.message, true));
  loadCustomers().catch(() => undefined);
});
