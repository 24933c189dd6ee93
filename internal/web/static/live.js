// Live numbers: a section with data-live-src listens to that server-sent
// event stream and writes each event's fields into its [data-live]
// elements. The delete form asks once more before it goes.
"use strict";
(function () {
  var fmt = {
    num: function (v) { return Math.round(v).toString(); },
    pct: function (v) { return v.toFixed(1); },
    share: function (v) { return (v * 100).toFixed(1); },
    eta: function (v) { // as Go's time.Duration prints it
      if (v < 0) return "-";
      var h = Math.floor(v / 3600), m = Math.floor(v % 3600 / 60), s = Math.floor(v % 60);
      return (h ? h + "h" : "") + (h || m ? m + "m" : "") + s + "s";
    }
  };
  document.querySelectorAll("[data-live-src]").forEach(function (sec) {
    var es = new EventSource(sec.getAttribute("data-live-src"));
    es.addEventListener(sec.getAttribute("data-live-event"), function (ev) {
      var d = JSON.parse(ev.data);
      sec.querySelectorAll("[data-live]").forEach(function (el) {
        var v = d[el.getAttribute("data-live")];
        if (v === undefined) return;
        var f = fmt[el.getAttribute("data-format")];
        el.textContent = f ? f(v) : String(v);
      });
      sec.setAttribute("data-updated", new Date().toISOString());
    });
  });
  var del = document.getElementById("delete-form");
  if (del) del.addEventListener("submit", function (ev) {
    if (!window.confirm(del.getAttribute("data-confirm"))) ev.preventDefault();
  });
})();
