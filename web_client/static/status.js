// Shows whether the server and its dependencies are ready (GET /readyz).
const out = document.getElementById("status");
try {
  const res = await fetch("/readyz", { cache: "no-store" });
  const body = await res.json();
  out.textContent = res.ok ? "ready" : `not ready (${Object.entries(body.checks)
    .filter(([, c]) => !c.ok).map(([name]) => name).join(", ")})`;
  out.dataset.state = res.ok ? "ready" : "unavailable";
} catch (err) {
  out.textContent = "unreachable";
  out.dataset.state = "unreachable";
}
