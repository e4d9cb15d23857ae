// The page script, served at /static/canopy.js and loaded with `defer`. Progressive enhancement
// only: every page works without it (forms submit, links go). It adds Copy buttons, asks before
// forms marked `data-confirm`, runs an expression box's query on Enter (`data-submit-on-enter`),
// and sends the write forms (`data-write`) with fetch so that a 401 can ask for a bearer token,
// keep it for the tab (sessionStorage) and retry. It finds its elements by attribute: the markup
// has no inline handler, and the CSP would block one.

enum Script {
    static let js = #"""
        (function () {
          "use strict";
          var TOKEN_KEY = "canopy.token";

          function storedToken() {
            try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
          }
          function storeToken(token) {
            try {
              if (token) { window.sessionStorage.setItem(TOKEN_KEY, token); } else { window.sessionStorage.removeItem(TOKEN_KEY); }
            } catch (e) { /* storage disabled: ask again next time */ }
          }

          // Copy buttons beside every [data-copy] element.
          function copyText(text) {
            if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(text); }
            // Plain http on another host has no clipboard API: select and copy the old way.
            var area = document.createElement("textarea");
            area.value = text;
            area.setAttribute("readonly", "");
            area.className = "visually-hidden";
            document.body.appendChild(area);
            area.select();
            var ok = false;
            try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
            document.body.removeChild(area);
            return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
          }
          function addCopyButtons() {
            var elements = document.querySelectorAll("[data-copy]");
            for (var i = 0; i < elements.length; i++) {
              (function (element) {
                var button = document.createElement("button");
                button.type = "button";
                button.className = "copy-button";
                button.textContent = "Copy";
                button.addEventListener("click", function () {
                  var text = element.getAttribute("data-copy") || element.textContent;
                  copyText(text).then(function () { button.textContent = "Copied"; }, function () { button.textContent = "Select and copy"; });
                  window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
                });
                element.insertAdjacentElement("afterend", button);
              })(elements[i]);
            }
          }

          function showFormError(form, message) {
            var existing = form.querySelector(".form-error");
            var line = existing || document.createElement("p");
            line.className = "form-error";
            line.setAttribute("role", "alert");
            line.textContent = message;  // text, never markup: the server's answer may echo input
            if (!existing) { form.appendChild(line); }
          }

          function formBody(form, submitter) {
            var data;
            try { data = new FormData(form, submitter || undefined); } catch (e) { data = new FormData(form); }
            return new URLSearchParams(data);
          }

          // A write form: POST with fetch; on 401 ask for a token once, keep it for the tab, retry.
          function sendWrite(form, submitter, askedForToken) {
            var headers = { "Accept": "text/html, application/json" };
            var token = storedToken();
            if (token) { headers["Authorization"] = "Bearer " + token; }
            var button = submitter || form.querySelector("[type=submit]");
            if (button) { button.disabled = true; }
            // The attribute, not `form.action`: a field named "action" would shadow the property.
            return fetch(form.getAttribute("action") || window.location.href, {
              method: (form.getAttribute("method") || "post").toUpperCase(),
              headers: headers,
              body: formBody(form, submitter),
              credentials: "same-origin",
              redirect: "follow"
            }).then(function (response) {
              if (button) { button.disabled = false; }
              if (response.status === 401) {
                storeToken(null);
                if (askedForToken) { showFormError(form, "The token was refused."); return; }
                var entered = window.prompt("This server needs a bearer token for changes. Token:");
                if (!entered) { showFormError(form, "Not changed: a token is needed."); return; }
                storeToken(entered.trim());
                return sendWrite(form, submitter, true);
              }
              if (response.ok) {
                window.location.assign(response.redirected ? response.url : window.location.href);
                return;
              }
              return response.text().then(function (text) {
                showFormError(form, "Not changed: the server answered " + response.status + (text ? ": " + text.slice(0, 300) : "") + ".");
              });
            }, function (error) {
              if (button) { button.disabled = false; }
              showFormError(form, "Not changed: " + error.message);
            });
          }

          document.addEventListener("submit", function (event) {
            var form = event.target;
            if (!(form instanceof HTMLFormElement)) { return; }
            var question = form.getAttribute("data-confirm");
            if (question && !window.confirm(question)) {
              event.preventDefault();
              return;
            }
            if (form.hasAttribute("data-write") && window.fetch && window.URLSearchParams) {
              event.preventDefault();
              sendWrite(form, event.submitter, false);
            }
          });

          // An expression box marked data-submit-on-enter (the hub's graph page): Enter runs the
          // query, as in Prometheus; Shift+Enter starts a new line.
          document.addEventListener("keydown", function (event) {
            var box = event.target;
            if (event.key !== "Enter" || event.shiftKey || event.isComposing) { return; }
            if (!(box instanceof HTMLTextAreaElement) || !box.hasAttribute("data-submit-on-enter") || !box.form) { return; }
            event.preventDefault();
            if (box.form.requestSubmit) { box.form.requestSubmit(); } else { box.form.submit(); }
          });

          if (document.readyState === "loading") {
            document.addEventListener("DOMContentLoaded", addCopyButtons);
          } else {
            addCopyButtons();
          }
        })();
        """#
}
