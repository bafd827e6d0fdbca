/* Browser push opt-in: a service worker (/static/sw.js) shows the pushes; the browser subscribes with
   the server's VAPID public key and the subscription is saved with POST /v1/push-subscriptions. */
(function () {
  "use strict";
  var card = document.getElementById("push");
  if (!card) return;
  var button = document.getElementById("push-enable"), status = document.getElementById("push-status");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function say(key) { status.textContent = card.dataset[key]; }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window) ||
      !window.isSecureContext) {
    say("unsupported");
    return;
  }

  function keyBytes(base64url) {  /* applicationServerKey: the uncompressed P-256 point as bytes */
    var raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(subscription, key) {
    var current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true;  /* the browser does not tell: keep it */
    var a = new Uint8Array(current);
    return a.length === key.length && a.every(function (b, i) { return b === key[i]; });
  }

  function checked(response) {
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response;
  }

  function publicKey() {
    return fetch(card.dataset.keyUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(checked)
      .then(function (response) { return response.json(); })
      .then(function (body) { return keyBytes(body.public_key); });
  }

  function save(subscription) {  /* idempotent per endpoint: saving again refreshes the keys */
    var json = subscription.toJSON();
    return fetch(card.dataset.subscribeUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } })
    }).then(checked);
  }

  function subscribe(registration, key) {
    return registration.pushManager.getSubscription().then(function (existing) {
      if (existing && sameKey(existing, key)) return existing;
      var gone = existing ? existing.unsubscribe() : Promise.resolve();
      return gone.then(function () {
        return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      });
    });
  }

  /* The worker's scope (/static/) does not cover this page, so `serviceWorker.ready` would never
     resolve: wait for this registration's own worker to be active (subscribing needs one). */
  function active(registration) {
    var worker = registration.installing || registration.waiting;
    if (registration.active || !worker) return Promise.resolve(registration);
    return new Promise(function (resolve) {
      worker.addEventListener("statechange", function () {
        if (worker.state === "activated") resolve(registration);
      });
    });
  }

  var ready = navigator.serviceWorker.register(card.dataset.worker, { scope: card.dataset.scope }).then(active);

  function enable() {
    button.disabled = true;
    say("working");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        say(permission === "denied" ? "denied" : "off");
        button.disabled = permission === "denied";
        return null;
      }
      return Promise.all([ready, publicKey()])
        .then(function (both) { return subscribe(both[0], both[1]); })
        .then(save)
        .then(function () { say("on"); button.disabled = false; });
    }).catch(function () {
      say("error");
      button.disabled = false;
    });
  }

  button.addEventListener("click", enable);
  ready.then(function (registration) {
    if (Notification.permission === "denied") {
      say("denied");
      return null;
    }
    button.disabled = false;
    if (Notification.permission !== "granted") return null;
    /* Already subscribed here: save it again for this account (the key may have changed, too). */
    return registration.pushManager.getSubscription().then(function (existing) {
      if (!existing) return null;
      return publicKey()
        .then(function (key) { return subscribe(registration, key); })
        .then(save)
        .then(function () { say("on"); });
    });
  }).catch(function () {
    say("error");
    button.disabled = false;
  });
})();
