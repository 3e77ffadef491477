// Autosave for the self-inspection form: an item is saved through the API as soon as its answer
// changes. Progressive enhancement only: without this file the Save button posts the whole form.
(function () {
  "use strict";
  var form = document.querySelector("form.si-form");
  if (!form || !window.fetch || !window.JSON) {
    return;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showProgress(progress) {
    var box = document.getElementById("si-progress");
    if (!box || !progress) {
      return;
    }
    var bar = box.querySelector("progress");
    var count = box.querySelector("[data-answered]");
    if (bar) {
      bar.value = progress.answered;
      bar.max = progress.total;
    }
    if (count) {
      count.textContent = progress.answered;
    }
  }

  function show(fieldset, text, kind) {
    var status = fieldset.querySelector(".si-status");
    if (status) {
      status.textContent = text;
      status.className = "si-status" + (kind ? " " + kind : "");
    }
  }

  // Saves in flight, so that submitting can call them off: the submit posts every answer anyway,
  // and a save landing after it would only be refused (409, the answers are final by then).
  var inFlight = [];
  var submitting = false;

  function save(fieldset) {
    var checked = fieldset.querySelector("input[type=radio]:checked");
    if (!checked || submitting) {
      return; // a new answer needs a result; its note is saved with it, or by the Save button
    }
    var note = fieldset.querySelector("textarea");
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) {
      inFlight.push(controller);
    }
    show(fieldset, form.dataset.saving, "");
    fetch(fieldset.dataset.answerUrl, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ result: checked.value, note: note ? note.value : "" }),
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (reply) {
        if (reply.ok) {
          fieldset.classList.remove("has-error");
          show(fieldset, form.dataset.saved, "ok");
          showProgress(reply.body.progress);
        } else {
          fieldset.classList.add("has-error");
          show(fieldset, reply.body.message, "error");
        }
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return; // called off by the submit, which carries this answer too
        }
        show(fieldset, form.dataset.offline, "error");
      })
      .then(function () {
        inFlight = inFlight.filter(function (other) {
          return other !== controller;
        });
      });
  }

  function unanswered() {
    return Array.prototype.filter.call(form.querySelectorAll("fieldset.si-item"), function (fieldset) {
      return !fieldset.querySelector("input[type=radio]:checked");
    });
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.type === "file") {
      return; // photos go with the Save button (multipart)
    }
    var fieldset = target.closest("fieldset.si-item");
    if (fieldset) {
      save(fieldset);
    }
  });

  form.addEventListener("submit", function (event) {
    if (!event.submitter || event.submitter.value !== "submit") {
      return;
    }
    // What is missing is said before the irreversible question, next to each item, as the server
    // would say it; nothing is asked and nothing is sent until every item has an answer.
    var missing = unanswered();
    if (missing.length) {
      event.preventDefault();
      missing.forEach(function (fieldset) {
        fieldset.classList.add("has-error");
        show(fieldset, form.dataset.missing, "error");
      });
      missing[0].scrollIntoView({ block: "center" });
      var first = missing[0].querySelector("input[type=radio]");
      if (first) {
        first.focus({ preventScroll: true });
      }
      return;
    }
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    submitting = true;
    inFlight.forEach(function (controller) {
      controller.abort();
    });
  });
})();
