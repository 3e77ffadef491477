// The on-site record on the tablet: autosave through the JSON API, an outbox kept in
// localStorage (a reload or a dropped connection loses nothing; it is sent again when the
// connection is back), immediate photo upload, list / one-by-one views and the idempotent submit.
// Progressive enhancement only: without this file the form posts everything to the server.
// signature.js uses the outbox through window.LoopOutbox.
(function () {
  "use strict";
  var form = document.getElementById("lp-form");
  if (!form || !window.fetch || !window.JSON || !window.Promise || !window.FormData) {
    return;
  }
  var t = form.dataset; // translated texts: data-t-* attributes
  var prefix = "lp:" + form.dataset.inspection + ":";
  var OUTBOX = prefix + "outbox";
  var SUBMISSION = prefix + "submission";
  var SUBMIT = prefix + "submit";
  var POSITION = prefix + "position";
  var MODE = "lp:mode";
  var RETRY_MS = 15000;
  var NOTE_DEBOUNCE_MS = 800;

  // --- storage -------------------------------------------------------------------------------------

  var storage = (function () {
    try {
      window.localStorage.setItem("lp:probe", "1");
      window.localStorage.removeItem("lp:probe");
      return window.localStorage;
    } catch (error) {
      return null; // private mode or full: autosave still works, only without the reload safety
    }
  })();

  function load(key, fallback) {
    if (!storage) {
      return fallback;
    }
    try {
      var raw = storage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (error) {
      return fallback;
    }
  }

  function store(key, value) {
    if (!storage) {
      return;
    }
    try {
      if (value === null) {
        storage.removeItem(key);
      } else {
        storage.setItem(key, JSON.stringify(value));
      }
    } catch (error) {
      // Quota exceeded (a signature too many): the item stays in memory and is still sent.
    }
  }

  // --- small helpers -----------------------------------------------------------------------------------

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setStatus(element, text, kind) {
    if (!element) {
      return;
    }
    element.textContent = text || "";
    element.className = element.className.replace(/\s*\b(ok|warn|error)\b/g, "") + (kind ? " " + kind : "");
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function request(method, url, body, isForm) {
    var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    if (!isForm) {
      headers["Content-Type"] = "application/json";
    }
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: isForm ? body : JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (data) {
          return { ok: response.ok, status: response.status, body: data };
        });
    });
  }

  // A refusal no retry can change (invalid input, not allowed). A 401, an HTML 403 (the CSRF
  // cookie expired with the session) or a 5xx may pass later: those stay in the outbox.
  function permanent(reply) {
    return (
      reply.status >= 400 &&
      reply.status < 500 &&
      [401, 408, 429].indexOf(reply.status) < 0 &&
      !!(reply.body && reply.body.code)
    );
  }

  function message(reply) {
    return (reply.body && reply.body.message) || String(reply.status);
  }

  // --- the outbox ----------------------------------------------------------------------------------------
  // key -> {seq, method, url, body, held}; one entry per thing (an item's answer, the record's
  // fields, the refusal, each signature), so a newer change replaces an unsent older one.

  var outbox = load(OUTBOX, {});
  var sequence = 0;
  Object.keys(outbox).forEach(function (key) {
    sequence = Math.max(sequence, outbox[key].seq || 0);
  });
  var handlers = {};
  var flushing = null;
  var offline = false;
  var retryTimer = null;

  function kindOf(key) {
    return key.split(":")[0];
  }

  function notify(key, event, op, detail) {
    var handler = handlers[kindOf(key)];
    if (handler && handler[event]) {
      handler[event](key, op, detail);
    }
  }

  function pendingKeys() {
    return Object.keys(outbox)
      .filter(function (key) {
        return !outbox[key].held;
      })
      .sort(function (a, b) {
        return outbox[a].seq - outbox[b].seq;
      });
  }

  function showSync() {
    var element = byId("lp-sync");
    var count = pendingKeys().length + photos.length;
    if (!element) {
      return;
    }
    if (count === 0) {
      setStatus(element, t.tAllSaved, "ok");
    } else {
      setStatus(element, count + " " + t.tPending, offline ? "warn" : "");
    }
  }

  function persist() {
    store(OUTBOX, outbox);
    showSync();
  }

  function enqueue(key, op) {
    sequence += 1;
    op.seq = sequence;
    outbox[key] = op;
    persist();
    if (!op.held) {
      flush();
    }
  }

  function scheduleRetry() {
    offline = true;
    pendingKeys().forEach(function (key) {
      notify(key, "waiting", outbox[key]);
    });
    showSync();
    if (!retryTimer) {
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        resume();
      }, RETRY_MS);
    }
  }

  // Send, one at a time and oldest first, whatever is waiting; stop at the first sign of no connection.
  function flush() {
    if (flushing) {
      return flushing;
    }
    function next() {
      var keys = pendingKeys();
      if (!keys.length) {
        return Promise.resolve();
      }
      var key = keys[0];
      var op = outbox[key];
      notify(key, "sending", op);
      return request(op.method, op.url, op.body).then(
        function (reply) {
          if (!reply.ok && !permanent(reply)) {
            notify(key, "waiting", op);
            scheduleRetry();
            return null;
          }
          offline = false;
          if (outbox[key] && outbox[key].seq === op.seq) {
            delete outbox[key];
            persist();
          }
          notify(key, reply.ok ? "saved" : "refused", op, reply.ok ? reply.body : message(reply));
          return next();
        },
        function () {
          notify(key, "waiting", op);
          scheduleRetry();
          return null;
        }
      );
    }
    flushing = next().then(function () {
      flushing = null;
      showSync();
    });
    return flushing;
  }

  function resume() {
    flush().then(function () {
      sendPhotos();
      if (load(SUBMIT, null)) {
        submitNow();
      }
    });
  }

  window.addEventListener("online", resume);

  // For signature.js.
  window.LoopOutbox = {
    enqueue: enqueue,
    on: function (kind, handler) {
      handlers[kind] = handler;
    },
    pending: function (kind) {
      return Object.keys(outbox)
        .filter(function (key) {
          return kindOf(key) === kind;
        })
        .map(function (key) {
          return { key: key, op: outbox[key] };
        });
    },
    setStatus: setStatus,
    texts: t,
    url: { sign: form.dataset.signUrl },
  };

  // --- items -------------------------------------------------------------------------------------------

  var items = Array.prototype.slice.call(form.querySelectorAll("fieldset.lp-item"));
  var timers = {};

  function itemStatus(fieldset) {
    return fieldset.querySelector(".lp-status");
  }

  function answerBody(fieldset) {
    var checked = fieldset.querySelector("input[type=radio]:checked");
    var note = fieldset.querySelector("textarea");
    return { result: checked ? checked.value : null, note: note ? note.value : "" };
  }

  function queueAnswer(fieldset) {
    var body = answerBody(fieldset);
    // A new answer needs a result: until then the note is only kept on the tablet.
    var held = !body.result && fieldset.dataset.answered !== "1";
    if (held) {
      setStatus(itemStatus(fieldset), t.tNeedResult, "warn");
    } else {
      setStatus(itemStatus(fieldset), offline ? t.tWaiting : t.tSaving, offline ? "warn" : "");
    }
    enqueue("answer:" + fieldset.dataset.item, {
      method: "PUT",
      url: fieldset.dataset.answerUrl,
      body: body,
      held: held,
    });
    showProgress();
  }

  function runDebounced() {
    Object.keys(timers).forEach(function (key) {
      window.clearTimeout(timers[key].id);
      timers[key].run();
      delete timers[key];
    });
  }

  function cancelDebounced(key) {
    if (timers[key]) {
      window.clearTimeout(timers[key].id);
      delete timers[key];
    }
  }

  function debounce(key, run) {
    if (timers[key]) {
      window.clearTimeout(timers[key].id);
    }
    timers[key] = {
      run: run,
      id: window.setTimeout(function () {
        delete timers[key];
        run();
      }, NOTE_DEBOUNCE_MS),
    };
  }

  function showProgress() {
    var box = byId("lp-progress");
    var answered = items.filter(function (fieldset) {
      return fieldset.querySelector("input[type=radio]:checked");
    }).length;
    var bar = box && box.querySelector("progress");
    var count = box && box.querySelector("[data-answered]");
    if (bar) {
      bar.value = answered;
    }
    if (count) {
      count.textContent = answered;
    }
  }

  function fieldsetOf(key) {
    return byId("item-" + key.split(":")[1]);
  }

  handlers.answer = {
    sending: function (key) {
      setStatus(itemStatus(fieldsetOf(key)), t.tSaving, "");
    },
    waiting: function (key) {
      setStatus(itemStatus(fieldsetOf(key)), t.tWaiting, "warn");
    },
    saved: function (key) {
      var fieldset = fieldsetOf(key);
      if (!fieldset) {
        return;
      }
      fieldset.dataset.answered = "1";
      fieldset.classList.remove("has-error");
      setStatus(itemStatus(fieldset), t.tSaved, "ok");
      sendPhotos();
    },
    refused: function (key, op, text) {
      var fieldset = fieldsetOf(key);
      if (fieldset) {
        fieldset.classList.add("has-error");
        setStatus(itemStatus(fieldset), t.tError + " " + text, "error");
      }
    },
  };

  // --- the record's own fields and the refusal -------------------------------------------------------------

  var noteField = byId("lp-note");
  var representativeField = byId("lp-representative");
  var refusalField = byId("lp-refusal-note");

  function queueRecord() {
    enqueue("record", {
      method: "PATCH",
      url: form.dataset.updateUrl,
      body: { note: noteField.value, representative_name: representativeField.value },
    });
  }

  handlers.record = {
    sending: function () {
      setStatus(byId("lp-record-status"), t.tSaving, "");
    },
    waiting: function () {
      setStatus(byId("lp-record-status"), t.tWaiting, "warn");
    },
    saved: function () {
      setStatus(byId("lp-record-status"), t.tSaved, "ok");
    },
    refused: function (key, op, text) {
      setStatus(byId("lp-record-status"), t.tError + " " + text, "error");
    },
  };

  handlers.refusal = {
    sending: function () {
      setStatus(byId("lp-refusal-status"), t.tSaving, "");
    },
    waiting: function () {
      setStatus(byId("lp-refusal-status"), t.tWaiting, "warn");
    },
    saved: function () {
      setStatus(byId("lp-refusal-status"), t.tSaved, "ok");
      var signer = form.querySelector(".lp-signer[data-role=representative] [data-signed]");
      if (signer) {
        signer.innerHTML = "";
        var badge = document.createElement("span");
        badge.className = "badge lp-overdue";
        badge.textContent = t.tRefused;
        signer.appendChild(badge);
      }
    },
    refused: function (key, op, text) {
      setStatus(byId("lp-refusal-status"), t.tError + " " + text, "error");
    },
  };

  // --- photos: sent at once, one by one; kept in memory (not across a reload) while offline ---------------

  var photos = []; // {fieldset, file, preview}
  var sendingPhoto = false;

  function addPhotos(input) {
    var fieldset = input.closest("fieldset.lp-item");
    var list = fieldset.querySelector("[data-photos]");
    Array.prototype.forEach.call(input.files, function (file) {
      var preview = document.createElement("li");
      preview.className = "lp-pending";
      if (window.URL && URL.createObjectURL) {
        var image = document.createElement("img");
        image.src = URL.createObjectURL(file);
        image.alt = "";
        preview.appendChild(image);
      }
      list.appendChild(preview);
      photos.push({ fieldset: fieldset, file: file, preview: preview });
    });
    input.value = ""; // sent by the API, so never again by a form post
    if (fieldset.dataset.answered !== "1" && !fieldset.querySelector("input[type=radio]:checked")) {
      setStatus(itemStatus(fieldset), t.tNeedResult, "warn");
    }
    showSync();
    sendPhotos();
  }

  function sendPhotos() {
    if (sendingPhoto) {
      return;
    }
    var index = -1;
    for (var i = 0; i < photos.length; i += 1) {
      if (photos[i].fieldset.dataset.answered === "1") {
        index = i;
        break;
      }
    }
    if (index < 0) {
      return;
    }
    var entry = photos[index];
    var data = new FormData();
    data.append("photo", entry.file, entry.file.name || "photo.jpg");
    sendingPhoto = true;
    setStatus(itemStatus(entry.fieldset), t.tPhotoSending, "");
    request("POST", entry.fieldset.dataset.photoUrl, data, true).then(
      function (reply) {
        sendingPhoto = false;
        if (!reply.ok && !permanent(reply)) {
          setStatus(itemStatus(entry.fieldset), t.tPhotoWaiting, "warn");
          scheduleRetry();
          return;
        }
        photos.splice(photos.indexOf(entry), 1);
        if (reply.ok) {
          entry.preview.className = "lp-sent";
          setStatus(itemStatus(entry.fieldset), t.tPhotoSaved, "ok");
        } else {
          entry.preview.className = "lp-failed";
          setStatus(itemStatus(entry.fieldset), t.tError + " " + message(reply), "error");
        }
        showSync();
        sendPhotos();
      },
      function () {
        sendingPhoto = false;
        setStatus(itemStatus(entry.fieldset), t.tPhotoWaiting, "warn");
        scheduleRetry();
      }
    );
  }

  window.addEventListener("beforeunload", function (event) {
    if (photos.length) {
      event.preventDefault();
      event.returnValue = t.tPhotoLeave;
      return t.tPhotoLeave;
    }
    return undefined;
  });

  // --- events --------------------------------------------------------------------------------------------

  form.addEventListener("change", function (event) {
    var target = event.target;
    var fieldset = target.closest("fieldset.lp-item");
    if (target.type === "file") {
      if (fieldset && target.files && target.files.length) {
        addPhotos(target);
      }
      return;
    }
    if (fieldset) {
      cancelDebounced("answer:" + fieldset.dataset.item);
      queueAnswer(fieldset);
    } else if (target === noteField || target === representativeField) {
      cancelDebounced("record");
      queueRecord();
    }
  });

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.tagName !== "TEXTAREA" && target.type !== "text" && target !== representativeField) {
      return;
    }
    var fieldset = target.closest("fieldset.lp-item");
    if (fieldset) {
      debounce("answer:" + fieldset.dataset.item, function () {
        queueAnswer(fieldset);
      });
    } else if (target === noteField || target === representativeField) {
      debounce("record", queueRecord);
    }
  });

  var refuseButton = document.querySelector("[data-refuse]");
  if (refuseButton && refusalField) {
    refuseButton.addEventListener("click", function (event) {
      event.preventDefault();
      enqueue("refusal", {
        method: "POST",
        url: form.dataset.refusalUrl,
        body: { note: refusalField.value },
      });
    });
  }

  var saveButton = form.querySelector(".lp-save");
  if (saveButton) {
    saveButton.addEventListener("click", function (event) {
      // Everything is saved as it changes; "Save" only sends what is still waiting.
      event.preventDefault();
      runDebounced();
      flush().then(sendPhotos);
    });
  }

  // --- list / one by one --------------------------------------------------------------------------------------

  var stepper = form.querySelector(".lp-stepper");
  var modeButtons = Array.prototype.slice.call(document.querySelectorAll(".lp-mode"));
  var position = Math.max(0, Math.min(load(POSITION, 0) || 0, items.length - 1));

  function showItem(index, scroll) {
    position = Math.max(0, Math.min(index, items.length - 1));
    items.forEach(function (fieldset, i) {
      fieldset.classList.toggle("lp-current", i === position);
    });
    var counter = stepper.querySelector("[data-position]");
    counter.textContent = position + 1 + " / " + items.length;
    stepper.querySelector("[data-step='-1']").disabled = position === 0;
    stepper.querySelector("[data-step='1']").disabled = position === items.length - 1;
    store(POSITION, position);
    if (scroll && items[position]) {
      items[position].scrollIntoView({ block: "start" });
    }
  }

  function setMode(mode) {
    var one = mode === "one";
    form.classList.toggle("lp-one", one);
    stepper.hidden = !one;
    modeButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    });
    store(MODE, mode);
    if (one) {
      showItem(position, false);
    }
  }

  function reveal(fieldset) {
    if (form.classList.contains("lp-one")) {
      showItem(items.indexOf(fieldset), false);
    }
    fieldset.scrollIntoView({ block: "start" });
  }

  if (items.length && stepper) {
    document.querySelector(".lp-modes").hidden = false;
    modeButtons.forEach(function (button) {
      button.addEventListener("click", function () {
        setMode(button.dataset.mode);
      });
    });
    stepper.addEventListener("click", function (event) {
      var button = event.target.closest("[data-step]");
      if (button) {
        showItem(position + Number(button.dataset.step), true);
      }
    });
    setMode(load(MODE, "list") === "one" ? "one" : "list");
  }

  // --- submit: one id per record, kept until it went through, so every retry is the same submission ------------

  var submitButton = form.querySelector(".lp-submit");
  var submitStatus = byId("lp-submit-status");

  function submissionId() {
    var id = load(SUBMISSION, null);
    if (!id) {
      id =
        window.crypto && window.crypto.randomUUID
          ? window.crypto.randomUUID()
          : form.querySelector("input[name=submission_id]").value; // not a secure context
      store(SUBMISSION, id);
      if (!load(SUBMISSION, null)) {
        form.querySelector("input[name=submission_id]").value = id; // no storage: keep it on the page
      }
    }
    return id;
  }

  function forget() {
    [OUTBOX, SUBMISSION, SUBMIT, POSITION].forEach(function (key) {
      store(key, null);
    });
  }

  function showRefusal(reply) {
    setStatus(submitStatus, message(reply), "error");
    var details = reply.body && reply.body.details;
    if (reply.body && reply.body.code === "incomplete" && details && details.missing) {
      var first = null;
      items.forEach(function (fieldset) {
        if (details.missing.indexOf(fieldset.dataset.code) >= 0) {
          fieldset.classList.add("has-error");
          setStatus(itemStatus(fieldset), t.tMissing, "error");
          first = first || fieldset;
        }
      });
      if (first) {
        reveal(first);
      }
    } else if (reply.body && /unsigned/.test(reply.body.code)) {
      byId("signatures").scrollIntoView({ block: "start" });
    }
  }

  var submitting = false;

  function submitNow() {
    var intent = load(SUBMIT, null) || pendingSubmit;
    if (!intent || submitting) {
      return;
    }
    submitting = true;
    setStatus(submitStatus, t.tSubmitting, "");
    runDebounced();
    flush()
      .then(function () {
        if (pendingKeys().length) {
          throw new Error("offline");
        }
        return request("POST", form.dataset.submitUrl, intent);
      })
      .then(function (reply) {
        submitting = false;
        if (reply.ok || (reply.body && reply.body.code === "already_submitted")) {
          pendingSubmit = null;
          forget();
          window.location.replace(form.dataset.recordUrl);
        } else if (permanent(reply)) {
          pendingSubmit = null;
          store(SUBMIT, null);
          showRefusal(reply);
        } else {
          setStatus(submitStatus, t.tSubmitWaiting, "warn");
          scheduleRetry();
        }
      })
      .catch(function () {
        submitting = false;
        setStatus(submitStatus, t.tSubmitWaiting, "warn");
        scheduleRetry();
      });
  }

  var pendingSubmit = null; // the intent, when localStorage cannot keep it

  if (submitButton) {
    submitButton.addEventListener("click", function (event) {
      event.preventDefault();
      var conclusion = form.querySelector("input[name=conclusion]:checked");
      if (!conclusion) {
        setStatus(submitStatus, t.tChooseConclusion, "error");
        return;
      }
      if (!window.confirm(t.tConfirm)) {
        return;
      }
      var day = form.querySelector("input[name=rectify_deadline]").value;
      pendingSubmit = {
        submission_id: submissionId(),
        conclusion: conclusion.value,
        rectify_deadline: day ? day + "T23:59:59" + form.dataset.utcOffset : null,
      };
      store(SUBMIT, pendingSubmit);
      submitNow();
    });
  }

  // --- start: put back what was not sent before the reload, then send it ----------------------------------------

  Object.keys(outbox).forEach(function (key) {
    var op = outbox[key];
    if (kindOf(key) === "answer") {
      var fieldset = fieldsetOf(key);
      if (!fieldset) {
        delete outbox[key];
        return;
      }
      if (op.body.result) {
        var radio = fieldset.querySelector("input[type=radio][value='" + op.body.result + "']");
        if (radio) {
          radio.checked = true;
        }
      }
      fieldset.querySelector("textarea").value = op.body.note;
      setStatus(itemStatus(fieldset), op.held ? t.tNeedResult : t.tWaiting, "warn");
    } else if (key === "record") {
      noteField.value = op.body.note;
      representativeField.value = op.body.representative_name;
    } else if (key === "refusal" && refusalField) {
      refusalField.value = op.body.note;
    }
  });
  var intent = load(SUBMIT, null);
  if (intent) {
    var chosen = form.querySelector("input[name=conclusion][value='" + intent.conclusion + "']");
    if (chosen) {
      chosen.checked = true;
    }
  }
  persist();
  showProgress();
  resume();
})();
