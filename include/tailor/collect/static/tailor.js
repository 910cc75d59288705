/*! Tailor website snippet: page views, product views and add-to-cart, sent to
 * the Tailor collector in Segment's format.
 *
 *   <script async src="https://COLLECTOR/tailor.js" data-write-key="WRITE_KEY"></script>
 *
 * Product pages: put data-tailor-product-id="42" (optional data-tailor-name,
 * data-tailor-price) on any element; add-to-cart buttons get
 * data-tailor-add-to-cart="42". After login call tailor.identify("42", {email: ...}).
 * Consent: set window.tailorConsent = {analytics: false} (or send the browser's
 * Global Privacy Control signal) and nothing is sent.
 */
(function (w, d) {
  var script = d.currentScript;
  var key = script && script.getAttribute("data-write-key");
  var host = (script && script.getAttribute("data-host")) || (script && new URL(script.src).origin);
  if (!key || !host) return;

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }
  function stored(store, name, make) {
    try {
      var value = store.getItem(name);
      if (!value && make) { value = make(); store.setItem(name, value); }
      return value;
    } catch (e) { return make ? make() : null; }
  }
  var anonymousId = stored(localStorage, "tailor_anonymous_id", uuid);
  var sessionId = stored(sessionStorage, "tailor_session_id", uuid);

  function consent() {
    var c = w.tailorConsent || {};
    if (navigator.globalPrivacyControl) c.gpc = true;
    return c;
  }
  function denied(c) { return c.gpc === true || c.analytics === false || c.Analytics === false; }

  function send(type, body) {
    var c = consent();
    if (denied(c)) return;  // consent at the edge: not even sent
    var now = new Date().toISOString();
    body.type = type;
    body.anonymousId = anonymousId;
    var userId = stored(localStorage, "tailor_user_id");
    if (userId && !body.userId) body.userId = userId;
    body.messageId = uuid();
    body.timestamp = now;
    body.sentAt = now;
    body.writeKey = key;
    body.context = {
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      page: { url: location.href, referrer: d.referrer, path: location.pathname, title: d.title },
      library: { name: "tailor.js", version: "1.0" },
      sessionId: sessionId,
      consent: c
    };
    var url = host + "/v1/" + type, data = JSON.stringify(body);
    // text/plain avoids a CORS preflight, as analytics.js does
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, new Blob([data], { type: "text/plain" })))) {
      fetch(url, { method: "POST", body: data, keepalive: true, headers: { "Content-Type": "text/plain" } });
    }
  }

  var tailor = w.tailor = {
    page: function (name, properties) { send("page", { name: name, properties: properties || {} }); },
    track: function (event, properties) { send("track", { event: event, properties: properties || {} }); },
    identify: function (userId, traits) {
      try { localStorage.setItem("tailor_user_id", String(userId)); } catch (e) {}
      send("identify", { userId: String(userId), traits: traits || {} });
    }
  };

  function product(el, attr) {
    var p = { product_id: el.getAttribute(attr) };
    if (el.getAttribute("data-tailor-name")) p.name = el.getAttribute("data-tailor-name");
    if (el.getAttribute("data-tailor-price")) p.price = parseFloat(el.getAttribute("data-tailor-price"));
    return p;
  }
  function start() {
    tailor.page(d.title);
    var viewed = d.querySelector("[data-tailor-product-id]");
    if (viewed) tailor.track("Product Viewed", product(viewed, "data-tailor-product-id"));
    d.addEventListener("click", function (e) {
      var el = e.target && e.target.closest && e.target.closest("[data-tailor-add-to-cart]");
      if (el) tailor.track("Product Added", product(el, "data-tailor-add-to-cart"));
    });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start); else start();
})(window, document);
