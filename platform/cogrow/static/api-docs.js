/* The API reference page (/api/docs): Swagger UI from static/vendor/swagger-ui/, drawing the app's own OpenAPI
 * document. Nothing leaves this host: the online validator badge is off, and "Try it out" calls this server.
 *
 * Two repairs to Swagger UI's markup for screen readers: an operation's path is plain text rather than a link
 * inside the operation's button (a link nested in a button is unreachable), and the server <select> gets a name.
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

  function nameServerChoice(root) {
    var label = root.getAttribute("data-servers-label") || "Servers";
    var fix = function () {
      var select = root.querySelector("select#servers");
      if (select && !select.hasAttribute("aria-label")) {
        select.setAttribute("aria-label", label);
      }
    };
    new MutationObserver(fix).observe(root, { childList: true, subtree: true });
    fix();
  }

  function start() {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle !== "function") {
      return;
    }
    nameServerChoice(root);
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
