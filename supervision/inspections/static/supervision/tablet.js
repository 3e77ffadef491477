// The inspector's tablet app at /tablet/ (docs/OFFLINE.md): a whole day's work without a signal.
// It draws everything from what the tablet keeps (tablet_store.js): the day pack taken while there
// was a connection, the journal of each inspection done here (every answer with the inspector's
// own time and the tablet's id for it), the photos as the original files, the signatures. Every
// change is stored before it is shown as kept. tablet_sync.js sends the journals when there is a
// connection; sw.js keeps this page and its files, and sends in the background.
//
// Views (the part after #): "" the day (day pack, sending, tasks), "task/<id>" the task and its
// entity card, "inspection/<journal id>" the record.
(function () {
  "use strict";
  var app = document.getElementById("tablet-app");
  var configNode = document.getElementById("tablet-config");
  if (!app || !configNode || !window.Promise || !window.fetch || !window.TabletStore || !window.TabletSync) {
    return;
  }
  var C = JSON.parse(configNode.textContent);
  var T = C.texts;
  var Store = window.TabletStore;
  var Sync = window.TabletSync;
  var SYNC_DELAY_MS = 1500;
  // The journal's own fields, which only this page changes; the sync changes the others
  // (server, refused, dirty, attempts, next_try_at, last_error, last_sync_at).
  var CONTENT = [
    "answers",
    "pending",
    "note",
    "representative_name",
    "refusal",
    "signatures",
    "conclusion",
    "deadline",
    "submission",
  ];

  var state = {
    pack: null,
    journals: [],
    lastRun: null,
    syncing: false,
    problem: null,
    message: null,
    ready: false,
    persisted: null,
    estimate: null,
    view: null,
    journal: null, // the journal on screen
    urls: [], // object URLs of the photos on screen
  };
  var syncTimer = null;
  var retryTimer = null;

  // --- helpers ---------------------------------------------------------------------------------------

  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (match, key) {
      return values[key] === undefined || values[key] === null ? "" : String(values[key]);
    });
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function when(iso) {
    if (!iso) {
      return "";
    }
    var d = new Date(iso);
    if (isNaN(d.getTime())) {
      return String(iso);
    }
    return (
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes())
    );
  }

  function nowIso() {
    return new Date().toISOString();
  }

  function size(bytes) {
    if (bytes < 1024 * 1024) {
      return Math.max(1, Math.round(bytes / 1024)) + " KB";
    }
    if (bytes < 1024 * 1024 * 1024) {
      return (bytes / 1024 / 1024).toFixed(1) + " MB";
    }
    return (bytes / 1024 / 1024 / 1024).toFixed(1) + " GB";
  }

  function h(tag, attrs, children) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (key === "text") {
        element.textContent = value;
      } else if (key.indexOf("on") === 0) {
        element.addEventListener(key.slice(2), value);
      } else if (value === true) {
        element.setAttribute(key, "");
      } else {
        element.setAttribute(key, value);
      }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) {
        return;
      }
      element.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return element;
  }

  // replaceChildren would write a null as the text "null".
  function show() {
    app.replaceChildren.apply(
      app,
      Array.prototype.filter.call(arguments, function (child) {
        return child !== null && child !== undefined && child !== false;
      })
    );
  }

  function label(pairs, value) {
    for (var i = 0; i < pairs.length; i += 1) {
      if (pairs[i][0] === value) {
        return pairs[i][1];
      }
    }
    return value;
  }

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function utcOffset() {
    var minutes = -new Date().getTimezoneOffset();
    var sign = minutes >= 0 ? "+" : "-";
    minutes = Math.abs(minutes);
    return sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function setMessage(text, kind) {
    state.message = text ? { text: text, kind: kind || "" } : null;
    var box = document.getElementById("tb-message");
    if (box) {
      box.textContent = text || "";
      box.className = "tb-message " + (kind || "");
      box.hidden = !text;
    }
  }

  function storeFailed(error) {
    setMessage(Store.isQuota(error) ? T.quota : T.store_failed + " " + (error && error.message), "error");
  }

  // --- the journals ---------------------------------------------------------------------------------

  function journalState(journal) {
    if (journal.refused) {
      return "refused";
    }
    if (journal.dirty || !journal.server) {
      return "waiting";
    }
    return "sent";
  }

  function reloadJournals() {
    return Store.byIndex("journals", "user", C.user).then(function (journals) {
      state.journals = journals.sort(function (a, b) {
        return a.created_at < b.created_at ? -1 : 1;
      });
      if (state.journal) {
        var fresh = findJournal(state.journal.id);
        if (fresh) {
          adopt(state.journal, fresh);
        }
      }
    });
  }

  function findJournal(id) {
    for (var i = 0; i < state.journals.length; i += 1) {
      if (state.journals[i].id === id) {
        return state.journals[i];
      }
    }
    return null;
  }

  function journalForTask(taskId) {
    for (var i = state.journals.length - 1; i >= 0; i -= 1) {
      if (state.journals[i].task === taskId) {
        return state.journals[i];
      }
    }
    return null;
  }

  // Keep what the page changed, take the rest (what the sync wrote) from ``stored``.
  function adopt(journal, stored) {
    Object.keys(stored).forEach(function (key) {
      if (CONTENT.indexOf(key) < 0) {
        journal[key] = stored[key];
      }
    });
  }

  // Store the journal's changed content; ``journal`` is the page's copy. On a refusal (a full
  // disk) the page's copy goes back to what is stored and the reason is shown.
  function save(journal) {
    return Store.update("journals", journal.id, function (stored) {
      stored = stored || journal;
      CONTENT.forEach(function (key) {
        stored[key] = journal[key];
      });
      stored.rev = (stored.rev || 0) + 1;
      stored.dirty = true;
      stored.updated_at = nowIso();
      return stored;
    }).then(
      function (stored) {
        adopt(journal, stored);
        setMessage(null);
        changed();
        return true;
      },
      function (error) {
        storeFailed(error);
        return Store.get("journals", journal.id).then(function (stored) {
          if (stored) {
            CONTENT.forEach(function (key) {
              journal[key] = stored[key];
            });
          }
          route();
          return false;
        });
      }
    );
  }

  // --- sending ---------------------------------------------------------------------------------------

  function registerBackgroundSync() {
    if (!navigator.serviceWorker) {
      return;
    }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) {
        registration.active.postMessage({ type: "register-sync" });
      }
    });
  }

  function changed() {
    showStatus();
    if (!navigator.onLine) {
      registerBackgroundSync();
      return;
    }
    window.clearTimeout(syncTimer);
    syncTimer = window.setTimeout(function () {
      runSync({});
    }, SYNC_DELAY_MS);
  }

  function scheduleRetry() {
    window.clearTimeout(retryTimer);
    var next = null;
    state.journals.forEach(function (j) {
      if (j.dirty && !j.refused && j.next_try_at && (next === null || j.next_try_at < next)) {
        next = j.next_try_at;
      }
    });
    if (next !== null && navigator.onLine) {
      retryTimer = window.setTimeout(function () {
        runSync({});
      }, Math.max(1000, next - Date.now()));
    }
  }

  function runSync(options) {
    if (state.syncing) {
      return Promise.resolve();
    }
    state.syncing = true;
    showStatus();
    return Sync.run(options)
      .then(
        function (summary) {
          state.problem = summary.problem;
          if (summary.problem === "offline" || summary.problem === "server") {
            registerBackgroundSync();
          }
        },
        function () {
          state.problem = "server";
        }
      )
      .then(function () {
        state.syncing = false;
        return Promise.all([reloadJournals(), Store.meta("last_run", null)]);
      })
      .then(function (values) {
        state.lastRun = values[1];
        scheduleRetry();
        refresh();
      });
  }

  // --- the day pack ------------------------------------------------------------------------------------

  function keepPages() {
    if (!window.caches) {
      return Promise.resolve();
    }
    return caches.open(C.pages_cache).then(function (cache) {
      return Promise.all(
        C.urls.pages.map(function (url) {
          return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
            if (response.ok && !response.redirected) {
              return cache.put(url, response);
            }
            return null;
          });
        })
      );
    });
  }

  function storage() {
    if (!navigator.storage) {
      return Promise.resolve();
    }
    return Promise.all([
      navigator.storage.persisted ? navigator.storage.persisted() : null,
      navigator.storage.estimate ? navigator.storage.estimate() : null,
    ]).then(function (values) {
      state.persisted = values[0];
      state.estimate = values[1];
    });
  }

  function checkReady() {
    var worker = navigator.serviceWorker ? navigator.serviceWorker.getRegistration("/") : Promise.resolve(null);
    var shell = window.caches
      ? caches.open(C.pages_cache).then(function (cache) {
          return cache.match(C.urls.shell);
        })
      : Promise.resolve(null);
    return Promise.all([worker, shell]).then(function (values) {
      state.ready = !!(values[0] && values[0].active && values[1] && state.pack);
    });
  }

  function takePack() {
    setMessage(T.taking_pack, "");
    var persist =
      navigator.storage && navigator.storage.persist ? navigator.storage.persist().catch(function () {}) : null;
    return fetch(C.urls.pack, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok || response.redirected) {
            var reason = response.status;
            try {
              reason = JSON.parse(text).message || reason;
            } catch (error) {
              // not JSON: the status says it
            }
            throw new Error(String(reason));
          }
          return Store.put("packs", {
            user: C.user,
            taken_at: nowIso(),
            bytes: new Blob([text]).size,
            pack: JSON.parse(text),
          });
        });
      })
      .then(function (record) {
        state.pack = record;
        return Promise.all([keepPages(), persist]);
      })
      .then(function () {
        setMessage(null);
        return storage();
      })
      .then(checkReady)
      .catch(function (error) {
        if (Store.isQuota(error)) {
          setMessage(T.quota, "error");
        } else {
          setMessage(T.pack_failed + " " + (navigator.onLine ? error.message : T.no_connection), "error");
        }
      })
      .then(refresh);
  }

  // --- the day ----------------------------------------------------------------------------------------

  function counts() {
    var result = { waiting: 0, sent: 0, refused: 0 };
    state.journals.forEach(function (j) {
      result[journalState(j)] += 1;
    });
    return result;
  }

  function syncText() {
    if (state.syncing) {
      return T.syncing;
    }
    if (!navigator.onLine || state.problem === "offline") {
      return T.no_connection;
    }
    if (state.problem === "sign_in") {
      return T.sign_in;
    }
    var parts = [];
    if (state.lastRun) {
      parts.push(fmt(T.last_sync, { when: when(state.lastRun.at) }));
    }
    var next = null;
    state.journals.forEach(function (j) {
      if (j.dirty && !j.refused && j.next_try_at && (next === null || j.next_try_at < next)) {
        next = j.next_try_at;
      }
    });
    if (next) {
      parts.push(fmt(T.next_try, { when: when(new Date(next).toISOString()) }));
    }
    return parts.join(" ");
  }

  function showStatus() {
    var c = counts();
    var countsBox = document.getElementById("tb-sync-counts");
    if (countsBox) {
      countsBox.textContent = fmt(T.counts, c);
      countsBox.dataset.waiting = c.waiting;
      countsBox.dataset.sent = c.sent;
      countsBox.dataset.refused = c.refused;
    }
    var status = document.getElementById("tb-sync-status");
    if (status) {
      status.textContent = syncText();
      status.dataset.problem = state.problem || "";
    }
    var connection = document.getElementById("tb-connection");
    if (connection) {
      connection.textContent = navigator.onLine ? T.online : T.offline;
      connection.className = "badge " + (navigator.onLine ? "lp-ok" : "lp-overdue");
    }
    var saved = document.getElementById("tb-saved");
    if (saved && state.journal) {
      saved.textContent = T.saved_here + " · " + T[journalState(state.journal)];
      saved.dataset.state = journalState(state.journal);
    }
  }

  function conflictList(journal) {
    var conflicts = (journal.server && journal.server.conflicts) || [];
    if (!conflicts.length) {
      return null;
    }
    return h(
      "ul",
      { class: "tb-conflicts" },
      conflicts.map(function (conflict) {
        return h("li", { class: "tb-conflict", "data-item": conflict.item }, [
          h("strong", { text: T.conflict + " · " + conflict.item_code }),
          h("br"),
          fmt(T.conflict_kept, {
            result: label(C.results, conflict.kept.result),
            by: conflict.kept.by,
            at: when(conflict.kept.at),
          }),
          conflict.kept.note ? " (" + conflict.kept.note + ")" : "",
          h(
            "ul",
            {},
            conflict.others.map(function (other) {
              return h("li", {}, [
                fmt(T.conflict_other, { result: label(C.results, other.result), by: other.by, at: when(other.at) }),
                other.note ? " (" + other.note + ")" : "",
              ]);
            })
          ),
        ]);
      })
    );
  }

  function journalEntry(journal) {
    var kind = journalState(journal);
    var name = journal.snapshot.enterprise.name;
    var actions = [];
    if (journal.refused) {
      actions.push(
        h("button", { type: "button", class: "button", "data-retry": journal.id, text: T.retry, onclick: retry }),
        h("button", {
          type: "button",
          class: "button lp-secondary",
          "data-reopen": journal.id,
          text: T.reopen,
          onclick: reopen,
        }),
        h("button", {
          type: "button",
          class: "button lp-secondary tb-danger",
          "data-remove": journal.id,
          text: T.remove,
          onclick: removeJournal,
        })
      );
    }
    var server = journal.server && journal.server.status === "submitted" && journal.server.url;
    return h("li", { class: "card tb-journal", "data-journal": journal.id, "data-state": kind }, [
      h("p", {}, [
        h("a", { href: "#/inspection/" + journal.id, text: name }),
        " ",
        h("span", { class: "badge tb-" + kind, text: T[kind] }),
        " ",
        h("span", { class: "muted small", text: when(journal.started_at) }),
      ]),
      journal.refused
        ? h("p", { class: "error tb-refusal", "data-code": journal.refused.code }, [
            T.refused_because + " " + (journal.refused.message || journal.refused.code) + " ",
            h("span", { class: "mono small", text: "(" + journal.refused.code + ")" }),
            h("br"),
            h("span", { class: "small", text: T.kept_until }),
          ])
        : null,
      conflictList(journal),
      server ? h("p", {}, [h("a", { href: journal.server.url, text: T.record_on_server })]) : null,
      actions.length ? h("p", { class: "tb-actions" }, actions) : null,
    ]);
  }

  function renderHome() {
    var pack = state.pack;
    var tasks = pack ? pack.pack.tasks : [];
    var estimate = state.estimate;
    show(
      h("h1", { text: T.title }, [" ", h("span", { id: "tb-connection", class: "badge" })]),
      h("p", { id: "tb-message", class: "tb-message", hidden: true }),
      h("section", { class: "card", id: "tb-pack" }, [
        h("h2", { text: T.pack }),
        h("p", {
          id: "tb-pack-status",
          "data-tasks": pack ? tasks.length : "",
          "data-bytes": pack ? pack.bytes : "",
          text: pack
            ? fmt(T.pack_taken, {
                when: when(pack.taken_at),
                tasks: tasks.length,
                size: size(pack.bytes),
                from: pack.pack.day_from,
                to: pack.pack.day_to,
              })
            : T.no_pack,
        }),
        h("p", {
          id: "tb-ready",
          "data-ready": state.ready ? "1" : "0",
          class: state.ready ? "tb-ok" : "muted",
          text: state.ready ? T.ready : T.not_ready,
        }),
        state.persisted === null
          ? null
          : h("p", { class: "small muted", text: state.persisted ? T.persistent : T.not_persistent }),
        estimate && estimate.quota
          ? h("p", {
              class: "small muted",
              text: fmt(T.storage_used, { used: size(estimate.usage || 0), quota: size(estimate.quota) }),
            })
          : null,
        h("button", { type: "button", class: "button lp-big", "data-take-pack": true, text: T.take_pack, onclick: takePack }),
      ]),
      h("section", { class: "card", id: "tb-sync" }, [
        h("h2", { text: T.sync }),
        h("p", { id: "tb-sync-counts" }),
        h("p", { id: "tb-sync-status", class: "small" }),
        state.problem === "sign_in" ? h("p", {}, [h("a", { href: C.urls.login + "?next=" + C.urls.shell, text: T.sign_in_link })]) : null,
        h("button", {
          type: "button",
          class: "button lp-big",
          "data-sync-now": true,
          text: T.sync_now,
          onclick: function () {
            runSync({ force: true });
          },
        }),
        h("ul", { id: "tb-journals", class: "tb-list" }, state.journals.slice().reverse().map(journalEntry)),
      ]),
      h("section", { id: "tb-tasks" }, [
        h("h2", { text: T.tasks }),
        tasks.length ? h("ul", { class: "tb-list" }, tasks.map(taskEntry)) : h("p", { class: "muted", text: T.no_tasks }),
      ])
    );
    if (state.message) {
      setMessage(state.message.text, state.message.kind);
    }
    showStatus();
  }

  function taskProgress(task) {
    var journal = journalForTask(task.id);
    if (journal) {
      return journal.submission ? T.submitted_here : T.in_progress;
    }
    return task.inspection ? T.started_elsewhere : T.not_started;
  }

  function coInspectors(task) {
    return task.inspectors
      .filter(function (i) {
        return task.co_inspectors.indexOf(i.id) >= 0;
      })
      .map(function (i) {
        return i.name;
      })
      .join(", ");
  }

  function taskEntry(task) {
    return h("li", { class: "card lp-task tb-task", "data-task": task.id }, [
      h("div", { class: "lp-task-main" }, [
        h("h3", { text: task.enterprise.name }),
        h("p", { class: "muted", text: task.enterprise.address }),
        h("p", { class: "small" }, [
          T.due + " " + task.due_from + " – " + task.due_to + " ",
          task.late ? h("span", { class: "badge lp-overdue", text: T.late }) : null,
          " · " + T.with + " " + (coInspectors(task) || "—"),
          " · ",
          h("span", { class: "tb-progress", text: taskProgress(task) }),
        ]),
      ]),
      h("div", { class: "lp-task-actions" }, [h("a", { class: "button lp-big", href: "#/task/" + task.id, text: T.open })]),
    ]);
  }

  function retry(event) {
    var id = event.currentTarget.dataset.retry;
    Store.update("journals", id, function (stored) {
      stored.refused = null;
      stored.attempts = 0;
      stored.next_try_at = null;
      stored.dirty = true;
      return stored;
    })
      .then(reloadJournals)
      .then(function () {
        refresh();
        return runSync({ force: true });
      }, storeFailed);
  }

  function reopen(event) {
    var id = event.currentTarget.dataset.reopen;
    Store.update("journals", id, function (stored) {
      stored.refused = null;
      stored.submission = null;
      stored.attempts = 0;
      stored.next_try_at = null;
      stored.dirty = true;
      return stored;
    })
      .then(reloadJournals)
      .then(function () {
        window.location.hash = "#/inspection/" + id;
      }, storeFailed);
  }

  function removeJournal(event) {
    var id = event.currentTarget.dataset.remove;
    if (!window.confirm(T.confirm_remove)) {
      return;
    }
    Store.byIndex("photos", "journal", id)
      .then(function (photos) {
        return Promise.all(
          photos.map(function (photo) {
            return Store.remove("photos", photo.id);
          })
        );
      })
      .then(function () {
        return Store.remove("journals", id);
      })
      .then(reloadJournals)
      .then(refresh, storeFailed);
  }

  // --- a task --------------------------------------------------------------------------------------

  function findTask(id) {
    var tasks = state.pack ? state.pack.pack.tasks : [];
    for (var i = 0; i < tasks.length; i += 1) {
      if (String(tasks[i].id) === String(id)) {
        return tasks[i];
      }
    }
    return null;
  }

  function fact(term, value) {
    return [h("dt", { text: term }), h("dd", { text: value === null || value === undefined || value === "" ? "—" : String(value) })];
  }

  function renderTask(id) {
    var task = findTask(id);
    var back = h("p", { class: "lp-crumbs" }, [h("a", { href: "#/", text: T.back })]);
    if (!task) {
      show(back, h("p", { class: "error", text: T.task_unknown }));
      return;
    }
    var e = task.enterprise;
    var journal = journalForTask(task.id);
    var checklists = state.pack.pack.checklists.filter(function (c) {
      return task.checklists.indexOf(c.id) >= 0;
    });
    show(
      back,
      h("p", { id: "tb-message", class: "tb-message", hidden: true }),
      h("article", { class: "card", id: "tb-card" }, [
        h("p", { class: "badge", text: T.entity_card }),
        h("h1", { text: e.name }),
        h(
          "dl",
          { class: "facts" },
          [].concat(
            fact(T.uscc, e.uscc),
            fact(T.scene, e.scene_name),
            fact(T.district, e.district),
            fact(T.address, e.address),
            fact(T.legal_representative, e.legal_representative),
            fact(T.licence_status, e.licence_status_label),
            fact(T.last_self_inspection, e.last_self_inspection ? when(e.last_self_inspection) : T.none),
            fact(T.due, task.due_from + " – " + task.due_to),
            fact(T.with, coInspectors(task))
          )
        ),
        task.origin ? h("p", { class: "small", text: task.origin }) : null,
        task.note ? h("p", { class: "small", text: task.note }) : null,
        h("h2", { text: T.open_orders }),
        task.open_orders.length
          ? h(
              "ul",
              {},
              task.open_orders.map(function (order) {
                return h("li", {}, [
                  order.number + " · " + order.status_label + " · " + when(order.deadline) + " ",
                  order.overdue ? h("span", { class: "badge lp-overdue", text: T.overdue }) : null,
                  h(
                    "ul",
                    {},
                    order.findings.map(function (f) {
                      return h("li", { text: f.item_code + " " + f.question + (f.note ? " (" + f.note + ")" : "") });
                    })
                  ),
                ]);
              })
            )
          : h("p", { class: "muted", text: T.none }),
        h("h2", { text: T.previous_findings }),
        task.previous_findings.length
          ? h(
              "ul",
              {},
              task.previous_findings.map(function (f) {
                return h("li", {
                  text: f.inspected_on + " · " + f.item_code + " " + f.question + (f.note ? " (" + f.note + ")" : ""),
                });
              })
            )
          : h("p", { class: "muted", text: T.none }),
        h("h2", { text: T.checklist }),
        h("p", {
          text:
            fmt(T.items_count, { n: task.items.length }) +
            " · " +
            checklists
              .map(function (c) {
                return c.department_name + " " + fmt(T.version, { n: c.version });
              })
              .join(", "),
        }),
        h("button", {
          type: "button",
          class: "button wide lp-big",
          "data-start": task.id,
          text: journal ? T.continue : T.start,
          onclick: function () {
            startInspection(task);
          },
        }),
      ])
    );
  }

  function packItem(id) {
    var lists = state.pack.pack.checklists;
    for (var i = 0; i < lists.length; i += 1) {
      for (var j = 0; j < lists[i].items.length; j += 1) {
        if (lists[i].items[j].id === id) {
          return { item: lists[i].items[j], checklist: lists[i] };
        }
      }
    }
    return null;
  }

  function startInspection(task) {
    var existing = journalForTask(task.id);
    if (existing) {
      window.location.hash = "#/inspection/" + existing.id;
      return;
    }
    var manual = state.pack.pack.manuals[task.enterprise.scene] || {};
    var prior = {};
    ((task.inspection && task.inspection.answers) || []).forEach(function (a) {
      prior[a.item] = { result: a.result, note: a.note, at: a.answered_at, by: a.by };
    });
    var items = task.items
      .map(function (id) {
        var found = packItem(id);
        if (!found) {
          return null;
        }
        var item = Object.assign({}, found.item);
        item.department_name = found.checklist.department_name;
        item.clause_text = item.clause && manual[item.clause] ? manual[item.clause].text : "";
        return item;
      })
      .filter(Boolean);
    var now = nowIso();
    var journal = {
      id: Store.uuid(),
      user: C.user,
      task: task.id,
      created_at: now,
      started_at: now,
      checklists: task.checklists,
      snapshot: {
        enterprise: task.enterprise,
        inspectors: task.inspectors,
        items: items,
        prior: prior,
        due_from: task.due_from,
        due_to: task.due_to,
      },
      answers: [],
      pending: {},
      note: null,
      representative_name: null,
      refusal: null,
      signatures: {},
      conclusion: "",
      deadline: "",
      submission: null,
      server: null,
      refused: null,
      rev: 1,
      dirty: true,
      attempts: 0,
      next_try_at: null,
    };
    Store.put("journals", journal).then(
      function () {
        state.journals.push(journal);
        changed();
        window.location.hash = "#/inspection/" + journal.id;
      },
      function (error) {
        storeFailed(error);
      }
    );
  }

  // --- the record --------------------------------------------------------------------------------------

  function time(value) {
    var t = Date.parse(value);
    return isNaN(t) ? 0 : t;
  }

  // The item's answer as the tablet knows it: its own latest, or what the server or the day pack
  // had that is later (the other tablet's), by the inspectors' own times.
  function current(journal, itemId) {
    var best = null;
    journal.answers.forEach(function (a) {
      if (a.item === itemId) {
        best = { result: a.result, note: a.note, at: a.at, local: true };
      }
    });
    var candidates = [journal.snapshot.prior[itemId]];
    ((journal.server && journal.server.answers) || []).forEach(function (a) {
      if (a.item === itemId) {
        candidates.push({ result: a.result, note: a.note, at: a.answered_at, by: a.by });
      }
    });
    candidates.forEach(function (c) {
      if (c && (!best || time(c.at) > time(best.at))) {
        best = c;
      }
    });
    return best;
  }

  function pendingOf(journal, itemId) {
    journal.pending = journal.pending || {};
    if (!journal.pending[itemId]) {
      journal.pending[itemId] = { note: null, photos: [] };
    }
    return journal.pending[itemId];
  }

  function addAnswer(journal, itemId, result, note, photos) {
    var last = null;
    journal.answers.forEach(function (a) {
      if (a.item === itemId) {
        last = a;
      }
    });
    if (last && last.result === result && last.note === (note || "") && !(photos || []).length) {
      return Promise.resolve(true); // the same answer again (a blur after a change): nothing new
    }
    journal.answers.push({ id: Store.uuid(), item: itemId, result: result, note: note || "", photos: photos || [], at: nowIso() });
    return save(journal);
  }

  function submittedView(journal) {
    return !!journal.submission;
  }

  function itemStatus(fieldset, text, kind) {
    var status = fieldset.querySelector(".tb-item-status");
    status.textContent = text || "";
    status.className = "lp-status tb-item-status " + (kind || "");
  }

  function revokePhotos() {
    state.urls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    state.urls = [];
  }

  function photoThumb(photo) {
    var url = URL.createObjectURL(photo.blob);
    state.urls.push(url);
    return h("li", { "data-photo": photo.id, class: photo.uploaded ? "lp-sent" : "lp-pending" }, [
      h("img", { src: url, alt: photo.name || "", "data-photo-img": photo.id }),
    ]);
  }

  function itemFieldset(journal, item, photos) {
    var answer = current(journal, item.id);
    var pending = (journal.pending || {})[item.id];
    var locked = submittedView(journal);
    var noteValue = pending && pending.note !== null && pending.note !== undefined ? pending.note : answer ? answer.note : "";
    var conflict = ((journal.server && journal.server.conflicts) || []).filter(function (c) {
      return c.item === item.id;
    });
    var fieldset = h("fieldset", { class: "card lp-item tb-item", id: "tb-item-" + item.id, "data-item": item.id, "data-code": item.code }, [
      h("legend", { class: "lp-question", text: item.question }),
      h("p", { class: "lp-meta" }, [
        h("span", { class: "badge severity-" + item.severity, text: item.severity_label }),
        " ",
        h("span", { class: "badge", text: item.method_label }),
        " ",
        h("span", { class: "muted", text: item.legal_basis }),
        " ",
        h("span", { class: "muted mono", text: item.code }),
      ]),
      item.clause_text ? h("details", { class: "lp-more" }, [h("summary", { text: T.manual_says }), h("p", { text: item.clause_text })]) : null,
      item.required_action
        ? h("details", { class: "lp-more" }, [h("summary", { text: T.required_action }), h("p", { text: item.required_action })])
        : null,
      conflict.length ? conflictList({ server: { conflicts: conflict } }) : null,
      h(
        "div",
        { class: "lp-choices", role: "radiogroup" },
        C.results.map(function (pair) {
          return h("label", { class: "lp-choice lp-" + pair[0] }, [
            h("input", {
              type: "radio",
              name: "result-" + item.id,
              value: pair[0],
              checked: !!answer && answer.result === pair[0],
              disabled: locked,
            }),
            " ",
            h("span", { text: pair[1] }),
          ]);
        })
      ),
      h("label", { for: "tb-note-" + item.id, text: T.note }),
      h("textarea", { id: "tb-note-" + item.id, rows: "2", maxlength: String(C.note_max), "data-note": true, disabled: locked }, [
        noteValue || "",
      ]),
      h("ul", { class: "lp-photos", "data-photos": true }, photos.map(photoThumb)),
      locked
        ? null
        : h("label", { class: "lp-photo-button", for: "tb-photos-" + item.id, text: fmt(T.add_photos, { n: C.max_photos }) }),
      locked
        ? null
        : h("input", {
            id: "tb-photos-" + item.id,
            type: "file",
            accept: "image/*",
            capture: "environment",
            multiple: true,
            class: "lp-file",
            "data-photo-input": true,
          }),
      h("p", { class: "lp-status tb-item-status", "aria-live": "polite" }),
    ]);
    if (!answer && pending && (pending.note || pending.photos.length)) {
      itemStatus(fieldset, T.need_result, "warn");
    }
    return fieldset;
  }

  function answeredCount(journal) {
    return journal.snapshot.items.filter(function (item) {
      return current(journal, item.id);
    }).length;
  }

  function signerKey(role, inspectorId) {
    return role + ":" + (inspectorId || "");
  }

  function signedBadge(journal, key) {
    var signature = journal.signatures[key];
    var refused = key === "representative:" && journal.refusal && (!signature || time(journal.refusal.at) > time(signature.at));
    if (refused) {
      return h("span", { class: "badge lp-overdue", text: T.refused_to_sign });
    }
    if (signature) {
      return h("span", { class: "badge lp-ok", text: T.signed + " " + when(signature.at).slice(11) });
    }
    return h("span", { class: "badge", text: T.not_signed });
  }

  function signerBlock(journal, role, inspector) {
    var key = signerKey(role, inspector && inspector.id);
    var locked = submittedView(journal);
    return h("div", { class: "lp-signer tb-signer", "data-key": key }, [
      h("h3", { text: inspector ? inspector.name + " " : T.representative_signer }, [
        inspector ? h("span", { class: "muted small mono", text: inspector.certificate_no }) : null,
      ]),
      h("p", { class: "lp-signed", "data-signed": true }, [signedBadge(journal, key)]),
      locked ? null : h("canvas", { class: "lp-pad", width: "600", height: "200" }),
      locked
        ? null
        : h("div", { class: "lp-pad-actions" }, [
            h("button", { type: "button", class: "button lp-secondary", "data-clear": true, text: T.clear }),
            h("button", { type: "button", class: "button", "data-sign": true, text: T.confirm_signature }),
          ]),
      h("p", { class: "lp-status", "data-sign-status": true }),
    ]);
  }

  function renderInspection(id) {
    var journal = findJournal(id);
    var back = h("p", { class: "lp-crumbs" }, [h("a", { href: "#/", text: T.back })]);
    if (!journal) {
      show(back, h("p", { class: "error", text: T.record_unknown }));
      return;
    }
    state.journal = journal;
    Store.byIndex("photos", "journal", journal.id).then(function (photos) {
      drawInspection(journal, photos, back);
    }, storeFailed);
  }

  function drawInspection(journal, photos, back) {
    revokePhotos();
    var byItem = {};
    photos
      .sort(function (a, b) {
        return a.taken_at < b.taken_at ? -1 : 1;
      })
      .forEach(function (p) {
        (byItem[p.item] = byItem[p.item] || []).push(p);
      });
    var locked = submittedView(journal);
    var groups = [];
    var lastDepartment = null;
    journal.snapshot.items.forEach(function (item) {
      if (item.department_name !== lastDepartment) {
        groups.push(h("h2", { text: item.department_name }));
        lastDepartment = item.department_name;
      }
      groups.push(itemFieldset(journal, item, byItem[item.id] || []));
    });
    var total = journal.snapshot.items.length;
    var e = journal.snapshot.enterprise;
    var conclusionValue = journal.submission ? journal.submission.conclusion : journal.conclusion;
    var form = h("form", { id: "tb-form", class: "lp-form", "data-journal": journal.id, novalidate: true }, groups.concat([
      h("section", { class: "card lp-conclusion", id: "tb-conclusion" }, [
        h("h2", { text: T.conclusion }),
        h("label", { for: "tb-note", text: T.inspector_note }),
        h("textarea", { id: "tb-note", rows: "3", maxlength: "4000", disabled: locked }, [journal.note || ""]),
        h("label", { for: "tb-representative", text: T.representative }),
        h("input", {
          id: "tb-representative",
          maxlength: "100",
          autocomplete: "off",
          value: journal.representative_name || "",
          disabled: locked,
        }),
        h("fieldset", { class: "lp-conclusions" }, [
          h("legend", { text: T.result_of_inspection }),
          h(
            "div",
            { class: "lp-choices" },
            C.conclusions.map(function (pair) {
              return h("label", { class: "lp-choice lp-conclusion-" + pair[0] }, [
                h("input", { type: "radio", name: "conclusion", value: pair[0], checked: conclusionValue === pair[0], disabled: locked }),
                " ",
                h("span", { text: pair[1] }),
              ]);
            })
          ),
        ]),
        h("label", { for: "tb-deadline", text: T.rectify_by }),
        h("input", { id: "tb-deadline", type: "date", value: journal.deadline || "", disabled: locked }),
        h("p", { class: "muted small", text: T.deadline_help }),
      ]),
      h(
        "section",
        { class: "card lp-signatures", id: "tb-signatures" },
        [h("h2", { text: T.signatures })]
          .concat(
            journal.snapshot.inspectors.map(function (inspector) {
              return signerBlock(journal, "inspector", inspector);
            })
          )
          .concat([
            signerBlock(journal, "representative", null),
            locked
              ? null
              : h("details", { class: "lp-refusal", open: !!journal.refusal }, [
                  h("summary", { text: T.refuses }),
                  h("label", { for: "tb-refusal-note", text: T.refusal_note }),
                  h("textarea", { id: "tb-refusal-note", rows: "2", maxlength: "500" }, [(journal.refusal && journal.refusal.note) || ""]),
                  h("button", { type: "button", class: "button lp-secondary", "data-refuse": true, text: T.record_refusal }),
                ]),
          ])
      ),
      locked
        ? h("p", { class: "tb-ok", id: "tb-submitted", text: fmt(T.submitted_at, { when: when(journal.submission.at) }) })
        : h("div", { class: "lp-actions" }, [h("button", { type: "button", class: "button lp-submit", "data-submit": true, text: T.submit })]),
      h("p", { class: "lp-status", id: "tb-submit-status", "aria-live": "assertive" }),
    ]));
    show(
      back,
      h("header", { class: "lp-head" }, [
        h("h1", { text: e.name }),
        h("p", { class: "muted" }, [e.address + " · ", h("span", { class: "mono", text: e.uscc })]),
      ]),
      h("p", { id: "tb-message", class: "tb-message", hidden: true }),
      h("div", { class: "lp-bar" }, [
        h("progress", { max: String(total), value: String(answeredCount(journal)), id: "tb-progress" }),
        h("span", { id: "tb-answered", text: fmt(T.answered, { answered: answeredCount(journal), total: total }) }),
        h("span", { id: "tb-saved", class: "small" }),
        h("span", { id: "tb-connection", class: "badge" }),
      ]),
      journal.refused
        ? h("p", { class: "error tb-refusal", text: T.refused_because + " " + (journal.refused.message || journal.refused.code) })
        : null,
      form
    );
    if (state.message) {
      setMessage(state.message.text, state.message.kind);
    }
    showStatus();
    if (!locked) {
      wire(journal, form);
    }
  }

  function showProgress(journal) {
    var total = journal.snapshot.items.length;
    var answered = answeredCount(journal);
    var bar = document.getElementById("tb-progress");
    var text = document.getElementById("tb-answered");
    if (bar) {
      bar.value = answered;
    }
    if (text) {
      text.textContent = fmt(T.answered, { answered: answered, total: total });
    }
  }

  function checkedResult(fieldset) {
    var checked = fieldset.querySelector("input[type=radio]:checked");
    return checked ? checked.value : null;
  }

  function addPhotos(journal, fieldset, input) {
    var itemId = Number(fieldset.dataset.item);
    var files = Array.prototype.slice.call(input.files || []);
    input.value = "";
    var list = fieldset.querySelector("[data-photos]");
    if (list.children.length + files.length > C.max_photos) {
      itemStatus(fieldset, fmt(T.too_many_photos, { n: C.max_photos }), "error");
      return;
    }
    var kept = [];
    // One photo, one transaction: a full disk refuses the photo it could not keep, not the others.
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain.then(function () {
        var photo = {
          id: Store.uuid(),
          journal: journal.id,
          user: C.user,
          task: journal.task,
          item: itemId,
          blob: file,
          name: file.name || "photo.jpg",
          type: file.type,
          size: file.size,
          taken_at: nowIso(),
          uploaded: false,
        };
        return Store.put("photos", photo).then(function () {
          kept.push(photo);
          list.appendChild(photoThumb(photo));
        });
      });
    });
    chain
      .catch(function (error) {
        storeFailed(error);
        itemStatus(fieldset, Store.isQuota(error) ? T.quota : T.store_failed, "error");
        throw error;
      })
      .then(
        function () {
          return kept;
        },
        function () {
          return kept;
        }
      )
      .then(function (photos) {
        if (!photos.length) {
          return null;
        }
        var ids = photos.map(function (p) {
          return p.id;
        });
        var result = checkedResult(fieldset);
        var note = fieldset.querySelector("[data-note]").value;
        if (!result) {
          var pending = pendingOf(journal, itemId);
          pending.photos = pending.photos.concat(ids);
          pending.note = note;
          itemStatus(fieldset, T.need_result, "warn");
          return save(journal);
        }
        return addAnswer(journal, itemId, result, note, ids).then(function (ok) {
          if (ok && !state.message) {
            itemStatus(fieldset, T.photo_kept, "ok");
          }
        });
      });
  }

  function wire(journal, form) {
    form.addEventListener("change", function (event) {
      var target = event.target;
      var fieldset = target.closest("fieldset.tb-item");
      if (fieldset) {
        var itemId = Number(fieldset.dataset.item);
        if (target.type === "file") {
          addPhotos(journal, fieldset, target);
          return;
        }
        var result = checkedResult(fieldset);
        var note = fieldset.querySelector("[data-note]").value;
        if (!result) {
          pendingOf(journal, itemId).note = note;
          itemStatus(fieldset, T.need_result, "warn");
          save(journal);
          return;
        }
        var pending = (journal.pending || {})[itemId];
        var photos = pending ? pending.photos : [];
        if (pending) {
          delete journal.pending[itemId];
        }
        addAnswer(journal, itemId, result, note, photos).then(function (ok) {
          if (ok) {
            fieldset.classList.remove("has-error");
            itemStatus(fieldset, T.saved_here, "ok");
            showProgress(journal);
          }
        });
        return;
      }
      if (target.id === "tb-note") {
        journal.note = target.value;
        save(journal);
      } else if (target.id === "tb-representative") {
        journal.representative_name = target.value;
        save(journal);
      } else if (target.name === "conclusion") {
        journal.conclusion = target.value;
        save(journal);
      } else if (target.id === "tb-deadline") {
        journal.deadline = target.value;
        save(journal);
      }
    });
    Array.prototype.forEach.call(form.querySelectorAll(".tb-signer"), function (signer) {
      wirePad(journal, signer);
    });
    var refuse = form.querySelector("[data-refuse]");
    if (refuse) {
      refuse.addEventListener("click", function () {
        var note = form.querySelector("#tb-refusal-note").value.trim();
        if (!note) {
          return;
        }
        journal.refusal = { note: note, at: nowIso() };
        save(journal).then(function () {
          var place = form.querySelector(".tb-signer[data-key='representative:'] [data-signed]");
          place.replaceChildren(signedBadge(journal, "representative:"));
        });
      });
    }
    form.querySelector("[data-submit]").addEventListener("click", function () {
      submit(journal, form);
    });
  }

  function wirePad(journal, signer) {
    var canvas = signer.querySelector("canvas");
    if (!canvas || !window.SignaturePad || !window.SignaturePad.supported()) {
      return;
    }
    var key = signer.dataset.key;
    var status = signer.querySelector("[data-sign-status]");
    var pad = new window.SignaturePad(canvas, function () {
      status.textContent = "";
    });
    if (journal.signatures[key]) {
      pad.paint(journal.signatures[key].png_base64);
    }
    signer.querySelector("[data-clear]").addEventListener("click", function () {
      pad.clear();
      status.textContent = "";
    });
    signer.querySelector("[data-sign]").addEventListener("click", function () {
      if (!pad.drawn()) {
        status.textContent = T.draw_first;
        status.className = "lp-status error";
        return;
      }
      var parts = key.split(":");
      journal.signatures[key] = {
        role: parts[0],
        inspector_id: parts[1] ? Number(parts[1]) : null,
        png_base64: pad.png(),
        at: nowIso(),
      };
      save(journal).then(function (ok) {
        if (ok) {
          signer.querySelector("[data-signed]").replaceChildren(signedBadge(journal, key));
          status.textContent = "";
        }
      });
    });
  }

  // The server's rules, checked on the tablet first so that the inspector can put things right on
  // site; the server checks them again when the journal arrives.
  function problems(journal) {
    var missing = journal.snapshot.items.filter(function (item) {
      return !current(journal, item.id);
    });
    if (missing.length) {
      return { text: T.missing, items: missing };
    }
    var unsigned = journal.snapshot.inspectors.filter(function (inspector) {
      return !journal.signatures[signerKey("inspector", inspector.id)];
    });
    if (unsigned.length) {
      return { text: T.unsigned };
    }
    if (!journal.signatures["representative:"] && !journal.refusal) {
      return { text: T.representative_unsigned };
    }
    if (!journal.conclusion) {
      return { text: T.choose_conclusion };
    }
    var failing = journal.snapshot.items.some(function (item) {
      return current(journal, item.id).result === "non_compliant";
    });
    if (journal.conclusion === "pass" && failing) {
      return { text: T.findings_need_action };
    }
    if (journal.conclusion === "rectify" && !failing) {
      return { text: T.nothing_to_rectify };
    }
    return null;
  }

  function submit(journal, form) {
    var status = document.getElementById("tb-submit-status");
    var problem = problems(journal);
    if (problem) {
      status.textContent = problem.text;
      status.className = "lp-status error";
      (problem.items || []).forEach(function (item) {
        var fieldset = document.getElementById("tb-item-" + item.id);
        fieldset.classList.add("has-error");
        itemStatus(fieldset, T.missing, "error");
      });
      if (problem.items && problem.items.length) {
        document.getElementById("tb-item-" + problem.items[0].id).scrollIntoView({ block: "start" });
      }
      return;
    }
    if (!window.confirm(T.confirm_submit)) {
      return;
    }
    journal.submission = {
      id: Store.uuid(),
      conclusion: journal.conclusion,
      rectify_deadline: journal.deadline ? journal.deadline + "T23:59:59" + utcOffset() : null,
      at: nowIso(),
    };
    save(journal).then(function (ok) {
      if (ok) {
        route();
      }
    });
  }

  // --- views -------------------------------------------------------------------------------------------

  function route() {
    var hash = window.location.hash.replace(/^#\/?/, "");
    var parts = hash.split("/");
    revokePhotos();
    if (parts[0] !== "inspection") {
      state.journal = null;
    }
    state.view = parts[0] || "home";
    if (parts[0] === "task" && parts[1]) {
      renderTask(parts[1]);
    } else if (parts[0] === "inspection" && parts[1]) {
      renderInspection(parts[1]);
    } else {
      renderHome();
    }
  }

  // After a sync: the day is drawn again; a record on screen keeps its inputs and shows what the
  // server said (conflicts, refusal) in place.
  function refresh() {
    if (state.view === "inspection" && state.journal) {
      showStatus();
      var journal = state.journal;
      Array.prototype.forEach.call(document.querySelectorAll("fieldset.tb-item"), function (fieldset) {
        var itemId = Number(fieldset.dataset.item);
        var old = fieldset.querySelector(".tb-conflicts");
        var conflicts = ((journal.server && journal.server.conflicts) || []).filter(function (c) {
          return c.item === itemId;
        });
        var fresh = conflicts.length ? conflictList({ server: { conflicts: conflicts } }) : null;
        if (old) {
          old.remove();
        }
        if (fresh) {
          fieldset.insertBefore(fresh, fieldset.querySelector(".lp-choices"));
        }
      });
      return;
    }
    if (state.view === "home") {
      renderHome();
    } else {
      showStatus();
    }
  }

  function start() {
    var config = Promise.all([
      Store.setMeta("user", C.user),
      Store.setMeta("urls", { sync: C.urls.sync, photo: C.urls.photo }),
      Store.setMeta("csrf", csrf()),
    ]).catch(function () {
      // A full disk: what is stored still shows; sending uses what was stored before.
    });
    return config
      .then(function () {
        return Promise.all([Store.get("packs", C.user), reloadJournals(), Store.meta("last_run", null), storage()]);
      })
      .then(function (values) {
        state.pack = values[0] || null;
        state.lastRun = values[2];
        return checkReady();
      })
      .then(function () {
        route();
        window.addEventListener("hashchange", route);
        window.addEventListener("online", function () {
          showStatus();
          runSync({ force: true });
        });
        window.addEventListener("offline", function () {
          state.problem = "offline";
          showStatus();
        });
        if (navigator.onLine) {
          runSync({});
        }
      });
  }

  if (navigator.serviceWorker) {
    navigator.serviceWorker.register(C.urls.sw, { scope: "/" }).catch(function () {
      // Without a service worker the page still works while it stays open.
    });
    navigator.serviceWorker.ready.then(function () {
      checkReady().then(function () {
        if (state.view === "home") {
          var ready = document.getElementById("tb-ready");
          if (ready) {
            ready.dataset.ready = state.ready ? "1" : "0";
            ready.textContent = state.ready ? T.ready : T.not_ready;
            ready.className = state.ready ? "tb-ok" : "muted";
          }
        }
      });
    });
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "tablet-synced") {
        Promise.all([reloadJournals(), Store.meta("last_run", null)]).then(function (values) {
          state.lastRun = values[1];
          refresh();
        });
      }
    });
  }

  start().catch(function (error) {
    show(h("p", { class: "error", text: error && error.message === "no-indexeddb" ? T.no_storage : T.store_failed + " " + error }));
  });
})();
