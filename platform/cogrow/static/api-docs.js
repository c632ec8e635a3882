/* The API reference page (/api/docs): Swagger UI from static/vendor/swagger-ui/, drawing the app's own OpenAPI
 * document. Nothing leaves this host: the online validator badge is off, and "Try it out" calls this server.
 *
 * Two repairs to Swagger UI's markup for screen readers: an operation's path is plain text rather than a link
 * inside the operation's button (a link nested in a button is unreachable), and selects and example bodies get
 * the names and keyboard access they lack (repairAsDrawn).
 * Example bodies are plain text: the highlighter's colours on its dark background fail the 4.5:1 contrast. */
(function () {
  "use strict";

  // Swagger UI plugin: its DeepLink component (a link around a path or tag name) drawn as a plain span.
  function plainLinks(system) {
    var React = system.React;
    return {
      components: {
        DeepLink: function (props) {
          return React.createElement("span", { className: "nostyle" }, props.text);
        },
      },
    };
  }

  // Names and keyboard access Swagger UI leaves out, added as it draws: the server <select>, a parameter's
  // <select> (named after the parameter), and scrollable example bodies (focusable, so keys can scroll them).
  function repairAsDrawn(root) {
    var serversLabel = root.getAttribute("data-servers-label") || "Servers";
    var repair = function () {
      var select = root.querySelector("select#servers");
      if (select && !select.hasAttribute("aria-label")) {
        select.setAttribute("aria-label", serversLabel);
      }
      root.querySelectorAll("tr[data-param-name] select:not([aria-label])").forEach(function (el) {
        el.setAttribute("aria-label", el.closest("tr").getAttribute("data-param-name"));
      });
      root.querySelectorAll(".highlight-code pre:not([tabindex]), pre.example:not([tabindex])").forEach(function (el) {
        el.setAttribute("tabindex", "0");
      });
    };
    new MutationObserver(repair).observe(root, { childList: true, subtree: true });
    repair();
  }

  function start() {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle !== "function") {
      return;
    }
    repairAsDrawn(root);
    window.cogrowApiDocs = window.SwaggerUIBundle({
      domNode: root,
      url: root.getAttribute("data-spec-url"),
      validatorUrl: null,
      deepLinking: false,
      displayOperationId: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      syntaxHighlight: { activated: false },
      tryItOutEnabled: false,
      persistAuthorization: false,
      plugins: [plainLinks],
      layout: "BaseLayout",
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
