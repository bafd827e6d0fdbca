/* Dashboard: live balance, holds, recent transactions, the usage chart and alert banners over SSE. */
(function () {
  "use strict";
  var P = window.Portal;
  var $ = function (id) { return document.getElementById(id); };

  function fromTemplate(id, selector) {
    var template = document.getElementById(id);
    return template ? template.content.querySelector(selector) : null;
  }

  function setMoney(el, cents) {
    if (!el) return;
    el.dataset.cents = String(cents);
    el.textContent = P.formatMoney(cents);
  }

  function onBalance(data) {
    var balance = $("balance"), available = $("available");
    if (!balance) return;
    var changed = Number(balance.dataset.cents) !== data.balance_cents;
    setMoney(balance, data.balance_cents);
    if (typeof data.available_cents === "number") {
      setMoney(available, data.available_cents);
      $("holds").textContent = P.formatMoney(data.balance_cents - data.available_cents);
    }
    if (!changed) return;
    var split = $("balance-split");
    if (split && !split.hidden) refreshSplit();
    balance.classList.remove("flash-update");
    void balance.offsetWidth;
    balance.classList.add("flash-update");
  }

  /* The paid/promotional split is not on the stream: it is asked for again, at most once a second, while
     the page shows promotional credit or when a grant arrives. */
  var splitTimer = null;
  function refreshSplit() {
    if (splitTimer) return;
    splitTimer = setTimeout(function () {
      fetch("/v1/balance", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (b) { if (b) showSplit(b); })
        .then(function () { return $("grants") ? fetch("/v1/grants", { credentials: "same-origin" }) : null; })
        .then(function (r) { return r && r.ok ? r.json() : null; })
        .then(function (g) { if (g) showGrants(g.items); })
        .catch(function () {})
        .then(function () { splitTimer = null; });
    }, 1000);
  }

  function showSplit(b) {
    var split = $("balance-split"), expiry = $("next-expiry");
    if (!split) return;
    setMoney($("paid"), b.paid_cents);
    setMoney($("promotional"), b.promotional_cents);
    split.hidden = !b.promotional_cents;
    var text = fromTemplate("split-texts", '[data-text="next_expiry"]');
    if (!expiry || !text) return;
    expiry.hidden = !b.next_expiry;
    if (b.next_expiry) {
      expiry.textContent = text.textContent
        .replace("{amount}", P.formatMoney(b.next_expiry.amount_cents))
        .replace("{date}", P.formatDate(b.next_expiry.expires_at).split(" ")[0]);
    }
  }

  function showGrants(items) {
    var ended = fromTemplate("split-texts", '[data-text="ended"]');
    items.forEach(function (g) {
      var row = document.querySelector('#grants tr[data-grant="' + CSS.escape(g.id) + '"]');
      if (!row) return;
      setMoney(row.querySelector(".remaining"), g.remaining_cents);
      if (g.remaining_cents === 0 && row.dataset.state === "open" && ended) {
        row.dataset.state = "ended";
        var pill = row.querySelector(".pill");
        pill.className = "pill pill-grant-ended";
        pill.textContent = ended.textContent;
      }
    });
  }

  function kindLabel(kind) {
    var el = fromTemplate("kind-labels", '[data-kind="' + kind + '"]');
    return el ? el.textContent : kind;
  }

  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function onTransaction(tx) {
    var body = document.querySelector("#recent tbody");
    if (tx.kind === "grant" || tx.kind === "expiry") refreshSplit();
    if (!body || !tx.id || body.querySelector('tr[data-id="' + CSS.escape(tx.id) + '"]')) return;
    var empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    var row = document.createElement("tr");
    row.dataset.id = tx.id;
    row.className = "new";
    row.appendChild(cell(P.formatDate(tx.created_at || new Date().toISOString()), "nowrap"));
    var kind = document.createElement("td"), pill = document.createElement("span");
    pill.className = "pill pill-" + String(tx.kind).replace(/[^a-z]/g, "");
    pill.textContent = kindLabel(tx.kind);
    kind.appendChild(pill);
    row.appendChild(kind);
    row.appendChild(cell(tx.description || "", "desc"));
    row.appendChild(cell(P.formatMoney(tx.amount_cents), "num " + (tx.amount_cents < 0 ? "neg" : "pos")));
    row.appendChild(cell(P.formatMoney(tx.balance_after_cents), "num"));
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > 10) body.deleteRow(body.rows.length - 1);
    if (tx.kind === "usage") addUsage(-tx.amount_cents);
  }

  function addUsage(cents) {
    var bars = document.querySelectorAll("#usage-chart rect");
    if (!bars.length) return;
    var today = bars[bars.length - 1], empty = document.getElementById("chart-empty");
    if (empty && cents > 0) empty.hidden = true;
    today.dataset.cents = String(Number(today.dataset.cents) + cents);
    var peak = 1;
    bars.forEach(function (b) { peak = Math.max(peak, Number(b.dataset.cents)); });
    bars.forEach(function (b) {
      var h = Math.max(Number(b.dataset.cents), 0) / peak * 156;
      b.setAttribute("height", h.toFixed(1));
      b.setAttribute("y", (160 - h).toFixed(1));
    });
  }

  function showAlert(type, data) {
    var box = $("alerts"), template = fromTemplate("alert-texts", '[data-type="' + type + '"]');
    if (!box || !template || box.querySelector('[data-alert="' + type + '"]')) return;
    var text = template.textContent
      .replace("{balance}", typeof data.balance_cents === "number" ? P.formatMoney(data.balance_cents) : "")
      .replace("{reason}", data.reason || "–");
    var banner = document.createElement("div");
    banner.className = "banner banner-" + type.replace(".", "-");
    banner.setAttribute("role", "alert");
    banner.dataset.alert = type;
    var span = document.createElement("span");
    span.textContent = text;
    banner.appendChild(span);
    if (type === "autotopup.paused" && /^https?:\/\//.test(data.action_url || "")) {
      var link = document.createElement("a");
      link.href = data.action_url;
      link.rel = "noopener";
      link.textContent = "→";
      banner.appendChild(link);
    }
    box.appendChild(banner);
  }

  function liveState(on) {
    var el = $("live");
    if (!el) return;
    el.textContent = on ? el.dataset.live : el.dataset.offline;
    el.classList.toggle("on", on);
  }

  var handlers = {
    "balance.updated": onBalance,
    "transaction.created": onTransaction,
    "topup.succeeded": function () {},
  };
  // The alert types are the catalogue's (contracts/portal/catalog.py), listed by the page's template.
  var alertTexts = document.getElementById("alert-texts");
  var alertTypes = alertTexts ? alertTexts.content.querySelectorAll("span[data-type]") : [];
  Array.prototype.forEach.call(alertTypes, function (el) {
    var type = el.dataset.type;
    handlers[type] = function (data) { showAlert(type, data); };
  });
  P.liveStream("/v1/stream", handlers, liveState);
})();
