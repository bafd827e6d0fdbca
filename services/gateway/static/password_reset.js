// The reset link carries its token in the URL fragment (#token=…), which the browser sends to no
// server and in no Referer: put it into the form, then take it out of the address bar and history.
(function () {
  var field = document.getElementById("token");
  var match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (field && match) {
    field.value = match[1];
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
