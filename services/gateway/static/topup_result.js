/* Top-up return page: reload as soon as the payment's outcome is known — SSE first, polling
   GET /v1/topups/{id} as a fallback — and link the invoice when documents announces it. */
(function () {
  "use strict";
  var box = document.getElementById("topup-result");
  if (!box) return;
  var id = box.dataset.topupId, status = box.dataset.status, done = false, tries = 0;

  function settle() { if (!done) { done = true; window.location.reload(); } }

  function poll() {
    if (done || status !== "pending" || tries++ > 120) return;
    fetch("/v1/topups/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (topup) { if (topup && topup.status !== status) settle(); else setTimeout(poll, 2000); })
      .catch(function () { setTimeout(poll, 3000); });
  }

  function showInvoice(doc) {
    var slot = document.querySelector("#invoice a");
    if (status !== "succeeded" || !slot || doc.kind !== "invoice" || !doc.id) return;
    slot.href = "/v1/documents/" + encodeURIComponent(doc.id) + "/pdf";
    slot.textContent = slot.dataset.label;
    slot.dataset.testid = "invoice-link";
  }

  function mine(data) { return !data.topup_id || data.topup_id === id; }
  window.Portal.liveStream("/v1/stream", {
    "topup.succeeded": function (data) { if (mine(data) && status === "pending") settle(); },
    "topup.failed": function (data) { if (mine(data) && status === "pending") settle(); },
    "document.issued": showInvoice,
  }, function () {});
  setTimeout(poll, 1500);
})();
