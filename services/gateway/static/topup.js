/* Top-up form: the bonus this amount earns, shown while typing (same rule as billing). */
(function () {
  "use strict";
  var form = document.getElementById("topup-form");
  if (!form) return;
  var input = document.getElementById("amount"), out = document.getElementById("preview");
  var tiers = (form.dataset.tiers || "").split(",").filter(Boolean).map(function (p) {
    var parts = p.split(":");
    return { min: Number(parts[0]), percent: Number(parts[1]) };
  });

  function cents(text) {
    var raw = String(text).trim().replace(/\s|€/g, "");
    if (/^\d+([.,]\d{1,2})?$/.test(raw)) return Math.round(Number(raw.replace(",", ".")) * 100);
    if (/^\d{1,3}(\.\d{3})+(,\d{1,2})?$/.test(raw)) return Math.round(Number(raw.replace(/\./g, "").replace(",", ".")) * 100);
    if (/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(raw)) return Math.round(Number(raw.replace(/,/g, "")) * 100);
    return null;
  }

  function update() {
    var amount = cents(input.value);
    if (amount === null || amount < Number(form.dataset.min) || amount > Number(form.dataset.max)) {
      out.textContent = "";
      return;
    }
    var percent = 0;
    tiers.forEach(function (tier) { if (amount >= tier.min) percent = tier.percent; });
    var bonus = Math.floor(amount * percent / 100);
    out.textContent = form.dataset.preview
      .replace("{amount}", window.Portal.formatMoney(amount))
      .replace("{bonus}", window.Portal.formatMoney(bonus))
      .replace("{total}", window.Portal.formatMoney(amount + bonus));
  }

  input.addEventListener("input", update);
  form.querySelectorAll("[data-amount]").forEach(function (button) {
    button.addEventListener("click", function () { input.value = button.dataset.amount; update(); input.focus(); });
  });
  update();
})();
