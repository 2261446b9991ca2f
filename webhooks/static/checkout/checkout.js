/*
 * invoicekit's checkout page: mounts the provider's widget (Billie) and confirms the
 * session with what it answers. The page's data is the JSON in data-checkout; no inline
 * script (the page's Content-Security-Policy allows this file and the widget's origin).
 */
(function () {
  "use strict";

  var root = document.getElementById("invoicekit-checkout");
  var data = JSON.parse(root.getAttribute("data-checkout"));

  function leave(url) {
    window.location.assign(url || data.return_url);
  }

  // The API keeps amounts as decimal strings; Billie's widget takes JSON numbers.
  function toNumbers(amount) {
    var copy = {};
    Object.keys(amount || {}).forEach(function (key) {
      copy[key] = Number(amount[key]);
    });
    return copy;
  }

  function orderData(given) {
    var copy = JSON.parse(JSON.stringify(given || {}));
    if (copy.amount) {
      copy.amount = toNumbers(copy.amount);
    }
    (copy.line_items || []).forEach(function (line) {
      if (line.amount) {
        line.amount = toNumbers(line.amount);
      }
    });
    return copy;
  }

  // Billie's loader: the script reads its command queue from window.bcw and its own
  // address from window.billieSrc, then replaces BillieCheckoutWidget by the widget.
  function load(src) {
    return new Promise(function (resolve, reject) {
      if (typeof window.bcw !== "function") {
        window.bcw = function () {
          (window.bcw.q = window.bcw.q || []).push(arguments);
        };
      }
      window.BillieCheckoutWidget = "bcw";
      window.billieSrc = src;
      var script = document.createElement("script");
      script.id = "bcw";  // as Billie's loader names its script element
      script.src = src;
      script.charset = "utf-8";
      script.async = true;
      script.onerror = function () { reject(new Error("widget not loaded")); };
      script.onload = function () {
        var tries = 0;
        (function ready() {
          var widget = window.BillieCheckoutWidget;
          if (widget && typeof widget.mount === "function") {
            resolve(widget);
          } else if (++tries > 100) {
            reject(new Error("widget not ready"));
          } else {
            window.setTimeout(ready, 100);
          }
        }());
      };
      document.head.appendChild(script);
      window.bcw("init");
    });
  }

  function confirm(answer) {
    return window.fetch(data.confirm_url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(answer || {})
    }).then(function (response) {
      return response.json().then(function (body) {
        leave(body.redirect);
      });
    });
  }

  if (data.state !== "open") {  // confirmed before (the page was loaded again)
    leave();
    return;
  }
  load(data.script_url).then(function (widget) {
    return Promise.resolve(widget.mount({
      billie_config_data: data.config,
      billie_order_data: orderData(data.order_data)
    })).then(confirm, function () {
      leave();  // closed by the buyer or declined by Billie: the shop asks what came of it
    });
  }).catch(function () {
    leave();
  });
}());
