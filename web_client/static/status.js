// Shows whether the server and its dependencies are ready (GET /readyz), in the visitor's
// language (the same en/中文 switch as the HR pages).
import { applyText, chosenLanguage, languageSwitch, t } from "/static/i18n.js";

const lang = chosenLanguage();
applyText(document, lang);
document.getElementById("top").append(languageSwitch(lang, t(lang, "hr_language")));
const out = document.getElementById("status");
try {
  const res = await fetch("/readyz", { cache: "no-store" });
  const body = await res.json();
  out.textContent = res.ok ? t(lang, "hr_home_ready") : t(lang, "hr_home_not_ready", {
    checks: Object.entries(body.checks).filter(([, c]) => !c.ok).map(([name]) => name).join(", "),
  });
  out.dataset.state = res.ok ? "ready" : "unavailable";
} catch (err) {
  out.textContent = t(lang, "hr_home_unreachable");
  out.dataset.state = "unreachable";
}
