/* The portal's service worker (scope /static/): shows the pushes notify sends,
   {type, title, body, data}, and opens the matching portal page when one is clicked. */
"use strict";

var PAGES = {
  "document.issued": "/portal/documents",
  "topup.succeeded": "/portal/transactions",
  "topup.failed": "/portal/topup",
  "autotopup.failed": "/portal/auto-topup",
  "autotopup.paused": "/portal/auto-topup",
  "autotopup.disabled": "/portal/auto-topup",
  "webhook_endpoint.disabled": "/portal/notifications"
};

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var message = {};
  try { message = event.data ? event.data.json() : {}; } catch (err) { message = { body: event.data.text() }; }
  var url = PAGES[message.type] || "/";  /* the portal's own pages only, never a link from the payload */
  event.waitUntil(self.registration.showNotification(message.title || "Guthabenportal / Balance portal", {
    body: message.body || "",
    tag: message.type || "portal",
    icon: "/static/favicon.svg",
    data: { url: url }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data || {}).url || "/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === url && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});
