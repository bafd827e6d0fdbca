/* Shared helpers: money and date formatting in the page's locale, and a reconnecting EventSource. */
(function () {
  "use strict";
  var locale = (document.querySelector('meta[name="portal-locale"]') || {}).content || "de";
  var tz = (document.querySelector('meta[name="portal-timezone"]') || {}).content || "Europe/Berlin";
  var tag = locale === "de" ? "de-DE" : "en-GB";
  var money = new Intl.NumberFormat(tag, { style: "currency", currency: "EUR" });
  var when = new Intl.DateTimeFormat(tag, { year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz });

  function formatMoney(cents) { return money.format(cents / 100).replace("-", "\u2212"); }
  function formatDate(iso) {  /* as the server writes it: 26.11.2026 06:02 or 2026-11-26 06:02 */
    var d = new Date(iso);
    if (isNaN(d)) return "";
    var p = {};
    when.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return locale === "de" ? p.day + "." + p.month + "." + p.year + " " + p.hour + ":" + p.minute
                           : p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  /* EventSource reconnects by itself (sending Last-Event-ID); when the server refuses or the
     stream is closed for good (readyState CLOSED), open a new one after a growing delay. */
  function liveStream(url, handlers, onState) {
    var delay = 1000, source = null;
    function open() {
      source = new EventSource(url);
      source.onopen = function () { delay = 1000; onState(true); };
      source.onerror = function () {
        onState(false);
        if (source.readyState === EventSource.CLOSED) {
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 30000);
        }
      };
      Object.keys(handlers).forEach(function (type) {
        source.addEventListener(type, function (e) {
          var data;
          try { data = JSON.parse(e.data); } catch (err) { return; }
          handlers[type](data, e);
        });
      });
    }
    open();
    window.addEventListener("pagehide", function () { if (source) source.close(); });
    return function () { return source; };
  }

  window.Portal = { locale: locale, formatMoney: formatMoney, formatDate: formatDate, liveStream: liveStream };
})();
