/* Alerts pages: let htmx swap in the answer to a refused alert action (403, 409, 412, 422).
 *
 * htmx does not swap 4xx answers by default. The alert actions answer a refusal with the same fragment as a
 * success (the row or the alert's main block, unchanged, with the message) and the X-Cogrow-Fragment header; only
 * those answers are swapped, so the person sees why, in place. Loaded by templates/alerts/*.html (CSP 'self').
 */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("X-Cogrow-Fragment")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
